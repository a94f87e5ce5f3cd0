import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PacingOptions {
  /** Records per second; 0 means as fast as `emit` returns (its backpressure sets the pace). */
  readonly rate: number;
  /** Stop after this many records (Infinity: never). */
  readonly limit: number;
  readonly signal: AbortSignal;
  /** How often a paced source wakes up, in ms. */
  readonly tickMs?: number;
  /** Records per call when unpaced. */
  readonly burst?: number;
}

/**
 * Drives a generating source: calls `emit(count)` with however many records are due since the
 * start — one batch per tick, so high rates stay accurate — until `limit` records were emitted
 * or `signal` aborts. Returns how many it asked for.
 */
export async function paced(options: PacingOptions, emit: (count: number) => Promise<void>): Promise<number> {
  const { rate, limit, signal, tickMs = 10, burst = 512 } = options;
  const started = performance.now();
  let sent = 0;
  while (sent < limit && !signal.aborted) {
    const due = rate === 0 ? sent + burst : Math.floor(((performance.now() - started) / 1000) * rate) + 1;
    const count = Math.min(due, limit) - sent;
    if (count > 0) {
      await emit(count);
      sent += count;
    }
    if (rate > 0) await sleep(tickMs, undefined, { signal }).catch(() => undefined);
  }
  return sent;
}
