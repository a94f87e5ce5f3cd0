import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { InletBinding, OutletBinding, Runtime, RuntimeSink, RuntimeSource } from '../runtime.js';
import { BlobStore } from './blobs.js';
import { blobBucket } from './names.js';
import type { NatsTopicPlan } from './plan.js';
import { provisioner, type Provisioner } from './provision.js';
import { JetStreamPublisher, type Publication, type PublishTarget } from './publisher.js';
import type { NatsSettings } from './settings.js';
import { NatsSource, type SourceContext } from './source.js';

/** Room left in a message for headers and protocol when deciding what fits inline. */
const HEADER_ROOM = 8 * 1024;
/** How often the backlog of the groups read here (the slowest per topic) is refreshed for metrics (ms). */
const BACKLOG_REFRESH_MS = 5_000;

export interface NatsRuntimeOptions {
  readonly nc: NatsConnection;
  readonly settings: NatsSettings;
  /** Every topic of the application, with what this process produces and reads. */
  readonly topics: readonly NatsTopicPlan[];
  /** Streamlets that run in this process: their consumer groups are created at start. */
  readonly local: ReadonlySet<string>;
  readonly log: Logger;
}

/**
 * The JetStream runtime: every topic a file-backed stream, every inlet a consumer group (model
 * topics: a broadcast), outputs published asynchronously with a bounded window and committed
 * inputs acknowledged afterwards. Several processes, each running some streamlets (or replicas
 * of one), share an application through the broker.
 */
export class NatsRuntime implements Runtime {
  readonly name = 'nats';
  private readonly topics: ReadonlyMap<string, NatsTopicPlan & { open: number }>;
  private readonly publisher: JetStreamPublisher;
  private readonly blobs: BlobStore;
  private readonly sourceContext: SourceContext;
  private readonly sources = new Set<NatsSource>();
  private readonly depths: Record<string, number> = {};
  private readonly backlogTimer: NodeJS.Timeout;
  private consumptionEnded = false;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly options: NatsRuntimeOptions,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly provision: Provisioner,
  ) {
    const { nc, settings, log } = options;
    this.topics = new Map(options.topics.map((t) => [t.name, { ...t, open: t.localProducers }]));
    this.blobs = new BlobStore(nc, blobBucket(settings.application), settings.stream.replicas);
    this.publisher = new JetStreamPublisher(nc, settings.publish, log, (target) => this.repairTopic(target));
    this.sourceContext = {
      js,
      jsm,
      blobs: this.blobs,
      log,
      maxMessages: Math.min(settings.consumer.maxMessages, settings.consumer.maxAckPending),
      // A topic fed from other processes only never ends here: reading stops with endConsumption().
      topicEnded: (topic) => {
        const plan = this.topics.get(topic);
        return plan !== undefined && plan.localProducers > 0 && plan.open === 0;
      },
      consumptionEnded: () => this.consumptionEnded,
      repair: async (topic, consumer) => {
        await provision.topic(topic, true);
        await provision.group(topic, consumer);
      },
    };
    this.backlogTimer = setInterval(() => void this.refreshBacklog(), BACKLOG_REFRESH_MS);
    this.backlogTimer.unref();
  }

  /** Creates (or checks) the streams of every topic and the consumer groups of the local streamlets, then returns the runtime. */
  static async start(options: NatsRuntimeOptions): Promise<NatsRuntime> {
    const js = jetstream(options.nc);
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(options.nc);
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_NATS_CONNECT', {
        url: options.settings.servers.join(','),
        message: `JetStream is not enabled on the server (start nats-server with -js): ${messageOf(err)}`,
      });
    }
    const provision = provisioner(options.nc, jsm, options.settings, options.log);
    for (const topic of options.topics) {
      await provision.topic(topic);
      for (const consumer of topic.consumers) {
        if (options.local.has(consumer.streamlet) && !consumer.broadcast) await provision.group(topic, consumer);
      }
    }
    return new NatsRuntime(options, js, jsm, provision);
  }

  backlog(): Readonly<Record<string, number>> {
    return this.depths;
  }

  source(binding: InletBinding): RuntimeSource {
    const topic = this.topic(binding.topic);
    const consumer = topic.consumers.find((c) => c.streamlet === binding.streamlet && c.inlet === binding.inlet);
    if (!consumer) throw new Error(`topic ${topic.name} has no consumer ${binding.streamlet}.${binding.inlet}`);
    const before = () =>
      Promise.all([...this.sources].filter((s) => s.streamlet === binding.streamlet && s.broadcast).map((s) => s.caughtUpAtStart)).then(() => undefined);
    const source = new NatsSource(topic, consumer, this.sourceContext, before);
    this.sources.add(source);
    return {
      pull: (options) => source.pull(options),
      close: async () => {
        this.sources.delete(source);
        await source.close();
      },
    };
  }

  sink(binding: OutletBinding): RuntimeSink {
    const targets: PublishTarget[] = binding.topics.map((name) => {
      const { stream, subject } = this.topic(name);
      return { topic: name, stream, subject };
    });
    const inline = Math.min(this.options.settings.inlineLimit, (this.options.nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM);
    let closed = false;
    return {
      write: async (records, signal) => {
        if (closed) throw new Error(`outlet ${binding.streamlet}.${binding.outlet} was closed`);
        const publications: Publication[] = [];
        for (const record of records) {
          const payload = record.payload;
          const blob = payload.length > inline ? await this.blobs.put(payload) : undefined;
          for (const target of targets) {
            publications.push(blob === undefined ? { target, payload, msgId: record.id } : { target, payload: new Uint8Array(0), msgId: record.id, blob });
          }
        }
        await this.publisher.publish(publications, signal);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        for (const name of binding.topics) {
          const topic = this.topics.get(name);
          if (topic && topic.open > 0) topic.open--;
        }
        for (const source of this.sources) source.wake();
      },
    };
  }

  /** This process stops reading: every source ends at its next pull (what it holds goes back to its group). */
  endConsumption(): void {
    this.consumptionEnded = true;
    for (const source of this.sources) source.wake();
  }

  async close(): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.backlogTimer);
      await Promise.all([...this.sources].map((s) => s.close()));
      this.publisher.close();
    })();
    return this.closed;
  }

  /** The broker-side view of this runtime's JetStream objects, for status and tests. */
  get manager(): JetStreamManager {
    return this.jsm;
  }

  get client(): JetStreamClient {
    return this.js;
  }

  private topic(name: string): NatsTopicPlan {
    const topic = this.topics.get(name);
    if (!topic) throw new Error(`nats runtime has no topic ${name}`);
    return topic;
  }

  private async repairTopic(target: PublishTarget): Promise<void> {
    const topic = this.topic(target.topic);
    try {
      await this.provision.topic(topic, true);
    } catch (err) {
      this.options.log.error('cannot create the stream of a topic again; publishes wait', { topic: topic.name, stream: topic.stream, error: messageOf(err) });
      throw err;
    }
  }

  private async refreshBacklog(): Promise<void> {
    for (const topic of this.topics.values()) {
      let slowest: number | undefined;
      for (const consumer of topic.consumers) {
        if (consumer.broadcast || !this.options.local.has(consumer.streamlet)) continue;
        const info = await this.jsm.consumers.info(topic.stream, consumer.group).catch(() => undefined);
        if (info) slowest = Math.max(slowest ?? 0, info.num_pending + info.num_ack_pending);
      }
      if (slowest !== undefined) this.depths[topic.name] = slowest;
    }
  }
}
