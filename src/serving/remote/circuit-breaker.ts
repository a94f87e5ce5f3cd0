/**
 * A circuit breaker for one endpoint: closed (calls go through) → open after `failureThreshold`
 * consecutive failures (calls skip the endpoint, failing fast instead of waiting on a dead
 * server) → half-open once `cooldownMs` has passed (one probe call goes through) → closed when
 * the probe succeeds, open again for another cool-down when it fails.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  /** Told about every change of state, with the failure that caused it (for the log). */
  readonly onTransition?: (from: CircuitState, to: CircuitState, reason: string) => void;
  readonly now?: () => number;
}

export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private lastFailure = '';
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    return this.current;
  }

  /** Whether a call may start now: always when closed; when open, once the cool-down is over; when half-open, only if no probe is out. */
  get available(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') return this.now() - this.openedAt >= this.options.cooldownMs;
    return !this.probing;
  }

  /** A call starts on the endpoint; after a cool-down it is the half-open probe. Call only when `available`. */
  begin(): void {
    if (this.current === 'open') this.move('half-open', `cool-down of ${this.options.cooldownMs}ms over; probing`);
    if (this.current === 'half-open') this.probing = true;
  }

  /** The endpoint answered (even with an error of the request's own): it is healthy. */
  succeeded(): void {
    this.failures = 0;
    this.probing = false;
    if (this.current !== 'closed') this.move('closed', 'probe succeeded');
  }

  /** The endpoint failed (unreachable, timed out, overloaded). */
  failed(reason: string): void {
    this.failures++;
    this.lastFailure = reason;
    this.probing = false;
    if (this.current === 'half-open' || (this.current === 'closed' && this.failures >= this.options.failureThreshold)) {
      this.openedAt = this.now();
      this.move('open', reason);
    }
  }

  /** The call ended without a verdict on the endpoint (the caller gave up): a probe may go again. */
  abandoned(): void {
    this.probing = false;
  }

  /** `open after 5 consecutive failures (last: connection refused), next probe in 420ms`, for error messages. */
  describe(): string {
    if (this.current === 'closed') return 'closed';
    const last = this.lastFailure ? ` (last: ${this.lastFailure})` : '';
    if (this.current === 'half-open') return `half-open, probe in flight${last}`;
    const wait = Math.max(0, this.options.cooldownMs - (this.now() - this.openedAt));
    return `open after ${this.failures} consecutive failure(s)${last}, next probe in ${Math.ceil(wait)}ms`;
  }

  private move(to: CircuitState, reason: string): void {
    const from = this.current;
    this.current = to;
    this.options.onTransition?.(from, to, reason);
  }
}
