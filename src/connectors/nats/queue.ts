/**
 * A bounded hand-off between a NATS client, which delivers messages one at a time, and the
 * streamlet loop, which emits them in batches. Full means: wait (JetStream: the consumer stops
 * pulling, so the server holds the rest) or drop (core NATS, which has no way to hold them).
 */
import { Notifier } from '../../util/notifier.js';

export class BoundedQueue<T> {
  private items: T[] = [];
  private readonly changed = new Notifier();

  constructor(readonly capacity: number) {}

  /** Adds `item` unless the queue is full. */
  offer(item: T): boolean {
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    this.changed.notifyAll();
    return true;
  }

  /** Adds `item` once there is room; false when `signal` aborted first. */
  async put(item: T, signal: AbortSignal): Promise<boolean> {
    while (this.items.length >= this.capacity) {
      if (signal.aborted) return false;
      await this.changed.wait(signal);
    }
    this.items.push(item);
    this.changed.notifyAll();
    return true;
  }

  /** Up to `max` items, waiting for the first; none when `signal` aborted first. */
  async take(max: number, signal: AbortSignal): Promise<T[]> {
    while (this.items.length === 0) {
      if (signal.aborted) return [];
      await this.changed.wait(signal);
    }
    const taken = this.items.splice(0, max);
    this.changed.notifyAll();
    return taken;
  }

  /** Everything queued, at once. */
  drain(): T[] {
    const all = this.items;
    this.items = [];
    this.changed.notifyAll();
    return all;
  }
}
