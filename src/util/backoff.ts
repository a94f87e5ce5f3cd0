import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  /** First delay, in ms. */
  readonly min: number;
  /** Longest delay, in ms. */
  readonly max: number;
  /**
   * Share of each delay drawn at random (0: none, 1: "full jitter", anywhere in [0, delay]), so
   * many clients that failed together do not retry together.
   */
  readonly jitter?: number;
}

/** Exponential backoff: `min`, doubling per failure up to `max`, with optional jitter. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt; each call doubles the next one. */
  next(): number {
    const { min, max, jitter = 0 } = this.options;
    const delay = Math.min(max, min * 2 ** this.failures);
    this.failures += 1;
    return delay - delay * jitter * this.random();
  }

  /** After a success: the next failure waits `min` again. */
  reset(): void {
    this.failures = 0;
  }
}

/** Waits `ms`; resolves early, without throwing, when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}
