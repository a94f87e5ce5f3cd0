import { DeliverPolicy } from '@nats-io/jetstream';
import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { Notifier } from '../../util/notifier.js';
import type { PullOptions, RawRecord, RuntimeSource, SourceBatch } from '../runtime.js';
import type { BlobStore } from './blobs.js';
import type { NatsConsumerPlan, NatsTopicPlan } from './plan.js';
import { BLOB_HEADER } from './publisher.js';

/** When a topic has ended here, how often a reader waiting for its last records checks whether it caught up (ms). */
const CATCH_UP_CHECK_MS = 200;

/** What a source asks of its runtime. */
export interface SourceContext {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly blobs: BlobStore;
  readonly log: Logger;
  readonly maxMessages: number;
  /** True once the topic has producers in this process and all of them have closed. */
  topicEnded(topic: string): boolean;
  /** True once the process stops consuming (a replica shutting down): every source ends at once. */
  readonly consumptionEnded: () => boolean;
  /** Re-creates the topic's stream and the group's consumer after they were deleted under the application. */
  repair(topic: NatsTopicPlan, consumer: NatsConsumerPlan): Promise<void>;
}

/**
 * One inlet's reader on JetStream. A consumer group shares a durable pull consumer: each record
 * goes to one replica, is acknowledged on commit, and is delivered again (to any replica) when
 * not committed in time or naked on close. A broadcast inlet reads with an ordered consumer of
 * its own that starts at the latest record: nothing to acknowledge, every replica sees it all.
 *
 * Messages arrive through `consume()` with a synchronous callback into a queue; the consumer's
 * `max_ack_pending` bounds how many are delivered and not yet committed, hence the queue.
 */
export class NatsSource implements RuntimeSource {
  private readonly queue: JsMsg[] = [];
  private head = 0;
  private readonly arrived = new Notifier();
  private readonly uncommitted = new Set<readonly JsMsg[]>();
  private messages: ConsumerMessages | undefined;
  private started: Promise<void> | undefined;
  private lastDelivered = 0;
  private closed = false;
  private repairing = false;
  /** Broadcast: settles once the record that was the latest at start is committed (or there was none). */
  readonly caughtUpAtStart: Promise<void>;
  private markCaughtUp!: () => void;
  private startTarget: number | undefined;

  /**
   * `before` is awaited before a group source starts reading: the broadcast inlets of the same
   * streamlet applying their latest record first, so that a new replica scores its first record
   * with the current model.
   */
  constructor(
    private readonly topic: NatsTopicPlan,
    private readonly consumer: NatsConsumerPlan,
    private readonly context: SourceContext,
    private readonly before: () => Promise<void> = async () => undefined,
  ) {
    this.caughtUpAtStart = new Promise((resolve) => (this.markCaughtUp = resolve));
  }

  get streamlet(): string {
    return this.consumer.streamlet;
  }

  get broadcast(): boolean {
    return this.consumer.broadcast;
  }

  async pull(options: PullOptions): Promise<SourceBatch | null> {
    await (this.started ??= this.start());
    const { signal } = options;
    for (;;) {
      if (this.closed || this.context.consumptionEnded() || signal?.aborted) return null;
      if (this.queued > 0) break;
      const ended = this.context.topicEnded(this.topic.name);
      if (ended && (await this.caughtUp())) return null;
      if (this.queued > 0) continue;
      await this.arrived.wait(signal, ended ? CATCH_UP_CHECK_MS : undefined);
    }
    if (options.maxWait > 0 && this.queued < options.maxSize) {
      const deadline = Date.now() + options.maxWait;
      for (let left = options.maxWait; left > 0 && this.queued < options.maxSize && !signal?.aborted; left = deadline - Date.now()) {
        await this.arrived.wait(signal, left);
      }
    }
    const taken = this.take(options.maxSize);
    this.lastDelivered = taken[taken.length - 1]?.seq ?? this.lastDelivered;
    const records = await Promise.all(taken.map((m) => this.record(m)));
    if (this.consumer.broadcast) {
      const seq = this.lastDelivered;
      return {
        records,
        commit: async () => {
          if (this.startTarget !== undefined && seq >= this.startTarget) this.markCaughtUp();
        },
      };
    }
    this.uncommitted.add(taken);
    return {
      records,
      commit: async () => {
        if (!this.uncommitted.delete(taken)) return;
        for (const m of taken) m.ack();
      },
    };
  }

  /** Something the source waits for changed (its topic ended here, consumption ended): look again. */
  wake(): void {
    this.arrived.notifyAll();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.markCaughtUp();
    this.arrived.notifyAll();
    await this.started?.catch(() => undefined);
    await this.messages?.close().catch(() => undefined);
    if (this.consumer.broadcast) return;
    // What was delivered and not committed goes back to the group now, not after ack_wait.
    for (const batch of this.uncommitted) for (const m of batch) m.nak();
    this.uncommitted.clear();
    for (const m of this.take(Number.POSITIVE_INFINITY)) m.nak();
  }

  private get queued(): number {
    return this.queue.length - this.head;
  }

  private take(max: number): JsMsg[] {
    const end = Math.min(this.queue.length, this.head + max);
    const taken = this.queue.slice(this.head, end);
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    return taken;
  }

  private async start(): Promise<void> {
    const { js, maxMessages } = this.context;
    let consumer: Consumer;
    if (this.consumer.broadcast) {
      this.startTarget ??= (await this.lastSeq()) ?? 0;
      if (this.startTarget === 0) this.markCaughtUp();
      consumer = await js.consumers.get(this.topic.stream, { filter_subjects: this.topic.subject, deliver_policy: DeliverPolicy.Last });
    } else {
      await this.before();
      consumer = await js.consumers.get(this.topic.stream, this.consumer.group);
    }
    this.messages = await consumer.consume({
      max_messages: maxMessages,
      callback: (m) => {
        this.queue.push(m);
        this.arrived.notifyAll();
      },
    });
    void this.watch(this.messages);
  }

  private async watch(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (this.consumer.broadcast || this.closed) continue;
      if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found' || status.type === 'stream_not_found') {
        void this.repair(status.type);
      }
    }
  }

  private async repair(why: string): Promise<void> {
    if (this.repairing) return;
    this.repairing = true;
    const where = { topic: this.topic.name, stream: this.topic.stream, consumer: this.consumer.group, why };
    this.context.log.error('consumer group lost on the broker (stream or consumer deleted); creating it again', where);
    try {
      await this.context.repair(this.topic, this.consumer);
      // The pull requests went with the old consumer: ask the new one.
      const old = this.messages;
      await this.start();
      await old?.close().catch(() => undefined);
    } catch (err) {
      this.context.log.error('cannot create the consumer group again; the client keeps trying', { ...where, error: messageOf(err) });
    } finally {
      this.repairing = false;
    }
  }

  /** Nothing left for this reader: the group has no pending or unacknowledged record (broadcast: the latest was delivered). */
  private async caughtUp(): Promise<boolean> {
    const { jsm } = this.context;
    try {
      if (this.consumer.broadcast) return this.lastDelivered >= ((await this.lastSeq()) ?? 0);
      const info = await jsm.consumers.info(this.topic.stream, this.consumer.group);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    } catch {
      return false; // cannot tell now (broker away): keep reading
    }
  }

  /** Sequence of the latest record on the topic's subject; undefined when there is none. */
  private async lastSeq(): Promise<number | undefined> {
    const last = await this.context.jsm.streams.getMessage(this.topic.stream, { last_by_subj: this.topic.subject });
    return last?.seq;
  }

  private async record(m: JsMsg): Promise<RawRecord> {
    const id = `${this.topic.stream}:${m.seq}`;
    const blob = m.data.length === 0 ? m.headers?.get(BLOB_HEADER) : undefined;
    if (blob) return { payload: await this.context.blobs.get(blob), id };
    return { payload: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), id };
  }
}
