import type { FairShare } from '../../util/fair-share.js';
import { Notifier } from '../../util/notifier.js';
import type { PullOptions, RawRecord, SourceBatch } from '../runtime.js';

/**
 * An in-memory topic: a bounded log read by consumer groups, as a Kafka topic is, but in one
 * process. Each group has a committed offset and a read cursor; the log keeps what the slowest
 * group has not committed, and a producer waits while that fills the capacity — backpressure,
 * never an unbounded queue. Restarting a group's consumer rewinds its cursor to the committed
 * offset, so uncommitted records are delivered again (at-least-once).
 */
export class LocalTopic {
  private readonly slots: (RawRecord | undefined)[];
  /** Offset of the next record to append. */
  private end = 0;
  /** Slots below this offset hold no record any more. */
  private released = 0;
  private openProducers: number;
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly dataArrived = new Notifier();
  private readonly roomFreed = new Notifier();

  constructor(
    readonly name: string,
    readonly capacity: number,
    groupNames: readonly string[],
    producers: number,
    private readonly fairShare: FairShare,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`topic ${name}: capacity must be a positive integer`);
    this.slots = new Array<RawRecord | undefined>(capacity);
    this.openProducers = producers;
    for (const group of groupNames) this.groups.set(group, new ConsumerGroup());
  }

  get ended(): boolean {
    return this.openProducers === 0;
  }

  /** Offset up to which `group` has committed: the count of its records that are done. */
  committed(groupName: string): number {
    return this.group(groupName).committed;
  }

  /** Records appended but not yet committed by the slowest group. */
  get depth(): number {
    return this.end - this.low();
  }

  /** Appends in order, waiting for room as needed. Without consumer groups records are discarded. */
  async append(records: readonly RawRecord[], signal?: AbortSignal): Promise<void> {
    const turn = this.fairShare.turn();
    if (turn) await turn;
    if (this.groups.size === 0) return;
    let next = 0;
    while (next < records.length) {
      signal?.throwIfAborted();
      const room = this.capacity - (this.end - this.low());
      if (room <= 0) {
        await this.roomFreed.wait(signal);
        continue;
      }
      const take = Math.min(room, records.length - next);
      for (let i = 0; i < take; i++) this.slots[(this.end + i) % this.capacity] = records[next + i];
      this.end += take;
      next += take;
      this.dataArrived.notifyAll();
    }
  }

  closeProducer(): void {
    if (this.openProducers > 0) this.openProducers--;
    this.dataArrived.notifyAll();
  }

  async pull(groupName: string, options: PullOptions): Promise<SourceBatch | null> {
    const turn = this.fairShare.turn();
    if (turn) await turn;
    const group = this.group(groupName);
    while (group.cursor === this.end) {
      if (this.ended || options.signal?.aborted) return null;
      await this.dataArrived.wait(options.signal);
    }
    if (options.maxWait > 0 && this.end - group.cursor < options.maxSize && !this.ended) {
      const deadline = Date.now() + options.maxWait;
      while (this.end - group.cursor < options.maxSize && !this.ended && !options.signal?.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await this.dataArrived.wait(options.signal, left);
      }
    }
    const from = group.cursor;
    const to = Math.min(this.end, from + options.maxSize);
    const records: RawRecord[] = new Array<RawRecord>(to - from);
    for (let offset = from; offset < to; offset++) records[offset - from] = this.slots[offset % this.capacity] as RawRecord;
    group.cursor = to;
    const incarnation = group.incarnation;
    return {
      records,
      commit: async () => {
        // A batch delivered before a rewind is stale: its records will be delivered again.
        if (group.incarnation !== incarnation) return;
        group.markCommitted(from, to);
        this.releaseCommitted();
      },
    };
  }

  /** The group's consumer went away: what it had not committed is delivered again. */
  rewind(groupName: string): void {
    const group = this.group(groupName);
    group.rewind();
    this.dataArrived.notifyAll();
  }

  private releaseCommitted(): void {
    const low = this.low();
    // Drop references to records every group committed, so their buffers can be collected.
    for (; this.released < low; this.released++) this.slots[this.released % this.capacity] = undefined;
    this.roomFreed.notifyAll();
  }

  private low(): number {
    let low = this.end;
    for (const group of this.groups.values()) low = Math.min(low, group.committed);
    return low;
  }

  private group(name: string): ConsumerGroup {
    const group = this.groups.get(name);
    if (!group) throw new Error(`topic ${this.name} has no consumer group ${name}`);
    return group;
  }
}

/** A group's position: commits may arrive out of order; the committed offset only moves over a contiguous prefix. */
class ConsumerGroup {
  committed = 0;
  cursor = 0;
  incarnation = 0;
  private readonly ahead = new Map<number, number>();

  markCommitted(from: number, to: number): void {
    this.ahead.set(from, to);
    let next = this.ahead.get(this.committed);
    while (next !== undefined) {
      this.ahead.delete(this.committed);
      this.committed = next;
      next = this.ahead.get(this.committed);
    }
  }

  rewind(): void {
    this.cursor = this.committed;
    this.ahead.clear();
    this.incarnation++;
  }
}
