/**
 * Requests waiting for their results, by correlation id: the HTTP serving ingress registers a
 * request's ids before it emits the records, the serving egress completes them as results
 * arrive. One table per exchange name, so one application can hold several request/response
 * pairs; the tables belong to the factory call that made the pair, not to the process.
 */
import { SluiceError } from '../../core/errors.js';

interface Waiter<R> {
  resolve(result: R): void;
  reject(error: Error): void;
}

export class PendingResults<R> {
  private readonly waiting = new Map<string, Waiter<R>>();

  get size(): number {
    return this.waiting.size;
  }

  /**
   * One promise per id, settled by {@link complete} or {@link cancel}. Throws
   * SLUICE_ERR_DUPLICATE_REQUEST_ID (and registers nothing) if an id is already waiting or
   * repeats in `ids`.
   */
  expect(ids: readonly string[], where: string): Promise<R>[] {
    const seen = new Set<string>();
    for (const id of ids) {
      if (this.waiting.has(id) || seen.has(id)) throw new SluiceError('SLUICE_ERR_DUPLICATE_REQUEST_ID', { where, id });
      seen.add(id);
    }
    return ids.map(
      (id) =>
        new Promise<R>((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
        }),
    );
  }

  /** Hands `result` to the request waiting for `id`; false when none is (timed out, or answered already). */
  complete(id: string, result: R): boolean {
    const waiter = this.waiting.get(id);
    if (!waiter) return false;
    this.waiting.delete(id);
    waiter.resolve(result);
    return true;
  }

  /** Stops waiting for `ids`; their promises reject with `error`. */
  cancel(ids: readonly string[], error: Error): void {
    for (const id of ids) {
      const waiter = this.waiting.get(id);
      this.waiting.delete(id);
      waiter?.reject(error);
    }
  }

  cancelAll(error: Error): void {
    this.cancel([...this.waiting.keys()], error);
  }
}

export class Exchanges<R> {
  private readonly byName = new Map<string, PendingResults<R>>();

  get(name: string): PendingResults<R> {
    let pending = this.byName.get(name);
    if (!pending) {
      pending = new PendingResults<R>();
      this.byName.set(name, pending);
    }
    return pending;
  }
}
