/**
 * The servers a remote model is called on, and which one takes the next call: round-robin, or
 * the one with the fewest calls in flight (a slow or overloaded server then gets less), skipping
 * endpoints whose circuit is open.
 */
import type { CircuitBreaker } from './circuit-breaker.js';

export const balancePolicies = ['round-robin', 'least-outstanding'] as const;
export type BalancePolicy = (typeof balancePolicies)[number];

export class Endpoint<Connection> {
  /** Calls started on this endpoint and not yet ended. */
  outstanding = 0;

  constructor(
    /** `http://127.0.0.1:8000`: how messages and logs name it. */
    readonly url: string,
    readonly connection: Connection,
    readonly breaker: CircuitBreaker,
  ) {}
}

export class EndpointSet<Connection> {
  private cursor = 0;

  constructor(
    readonly all: readonly Endpoint<Connection>[],
    private readonly policy: BalancePolicy,
  ) {}

  /**
   * The endpoint for the next call, one not in `avoid` (those a retry already tried) when any
   * such is available; undefined when every circuit is open. Only first attempts move the
   * rotation on, so a retry does not send the next call back to the endpoint that failed.
   */
  pick(avoid?: ReadonlySet<Endpoint<Connection>>): Endpoint<Connection> | undefined {
    const retry = avoid !== undefined && avoid.size > 0;
    return this.choose(avoid, !retry) ?? (retry ? this.choose(undefined, false) : undefined);
  }

  /** Every endpoint and its circuit, for the message when none can take a call. */
  describe(): string {
    return this.all.map((e) => `${e.url} circuit ${e.breaker.describe()}`).join('; ');
  }

  /** Scans from the cursor, so ties (and plain round-robin) rotate over the endpoints. */
  private choose(avoid: ReadonlySet<Endpoint<Connection>> | undefined, rotate: boolean): Endpoint<Connection> | undefined {
    const count = this.all.length;
    let best: Endpoint<Connection> | undefined;
    let bestIndex = 0;
    for (let step = 0; step < count; step++) {
      const index = (this.cursor + step) % count;
      const endpoint = this.all[index] as Endpoint<Connection>;
      if (avoid?.has(endpoint) || !endpoint.breaker.available) continue;
      if (best === undefined || endpoint.outstanding < best.outstanding) {
        best = endpoint;
        bestIndex = index;
        if (this.policy === 'round-robin' || endpoint.outstanding === 0) break;
      }
    }
    if (best !== undefined && rotate) this.cursor = (bestIndex + 1) % count;
    return best;
  }
}
