/**
 * The circuit breaker's states and the endpoint picking, on their own (a settable clock stands
 * in for waiting out cool-downs); resilience.test.ts checks the same behaviour against servers.
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitState } from '../../../src/serving/remote/circuit-breaker.js';
import { Endpoint, EndpointSet, type BalancePolicy } from '../../../src/serving/remote/endpoints.js';

function breaker(options: { failureThreshold?: number; cooldownMs?: number } = {}) {
  let now = 1_000;
  const transitions: string[] = [];
  const b = new CircuitBreaker({
    failureThreshold: options.failureThreshold ?? 3,
    cooldownMs: options.cooldownMs ?? 500,
    now: () => now,
    onTransition: (from: CircuitState, to: CircuitState, reason: string) => transitions.push(`${from}->${to}: ${reason}`),
  });
  return { b, transitions, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures; a success in between starts the count again', () => {
    const { b, transitions } = breaker();
    b.failed('refused');
    b.failed('refused');
    b.succeeded();
    b.failed('refused');
    b.failed('refused');
    expect(b.state).toBe('closed');
    b.failed('connection reset');
    expect(b.state).toBe('open');
    expect(b.available).toBe(false);
    expect(transitions).toEqual(['closed->open: connection reset']);
    expect(b.describe()).toBe('open after 3 consecutive failure(s) (last: connection reset), next probe in 500ms');
  });

  it('lets one probe through after the cool-down, and closes when it succeeds', () => {
    const { b, transitions, advance } = breaker({ failureThreshold: 1 });
    b.failed('refused');
    advance(499);
    expect(b.available).toBe(false);
    advance(1);
    expect(b.available).toBe(true);
    b.begin();
    expect(b.state).toBe('half-open');
    expect(b.available).toBe(false);
    b.succeeded();
    expect(b.state).toBe('closed');
    expect(b.available).toBe(true);
    expect(transitions).toEqual(['closed->open: refused', 'open->half-open: cool-down of 500ms over; probing', 'half-open->closed: probe succeeded']);
  });

  it('opens again for a whole cool-down when the probe fails', () => {
    const { b, advance } = breaker({ failureThreshold: 1 });
    b.failed('refused');
    advance(500);
    b.begin();
    b.failed('deadline of 100ms exceeded');
    expect(b.state).toBe('open');
    advance(499);
    expect(b.available).toBe(false);
    advance(1);
    expect(b.available).toBe(true);
  });

  it('lets another probe go when the first was abandoned by its caller', () => {
    const { b, advance } = breaker({ failureThreshold: 1 });
    b.failed('refused');
    advance(500);
    b.begin();
    expect(b.available).toBe(false);
    b.abandoned();
    expect(b.state).toBe('half-open');
    expect(b.available).toBe(true);
  });
});

function endpoints(policy: BalancePolicy, count = 3) {
  const list = Array.from({ length: count }, (_, i) => new Endpoint(`http://e${i}`, i, new CircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000 })));
  return { list, set: new EndpointSet(list, policy) };
}

describe('EndpointSet', () => {
  it('round-robin spreads picks evenly and skips endpoints whose circuit is open', () => {
    const { list, set } = endpoints('round-robin');
    const picks = Array.from({ length: 9 }, () => set.pick()?.connection);
    expect(picks).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    list[1]?.breaker.failed('refused');
    expect(Array.from({ length: 4 }, () => set.pick()?.connection)).toEqual([0, 2, 0, 2]);
  });

  it('least-outstanding picks the endpoint with the fewest calls in flight, rotating among ties', () => {
    const { list, set } = endpoints('least-outstanding');
    const [e0, e1, e2] = list as [Endpoint<number>, Endpoint<number>, Endpoint<number>];
    e0.outstanding = 3;
    e1.outstanding = 1;
    e2.outstanding = 2;
    expect(set.pick()).toBe(e1);
    e1.outstanding = 2;
    expect([set.pick(), set.pick()]).toEqual([e2, e1]);
    e0.outstanding = e1.outstanding = e2.outstanding = 0;
    expect(Array.from({ length: 3 }, () => set.pick()?.connection).sort()).toEqual([0, 1, 2]);
  });

  it('avoids the endpoints a retry already tried, unless nothing else is left', () => {
    const { list, set } = endpoints('round-robin', 2);
    const [e0, e1] = list as [Endpoint<number>, Endpoint<number>];
    expect(set.pick(new Set([e0]))).toBe(e1);
    expect(set.pick(new Set([e0]))).toBe(e1);
    e1.breaker.failed('refused');
    expect(set.pick(new Set([e0]))).toBe(e0);
  });

  it('picks nothing when every circuit is open, and says why', () => {
    const { list, set } = endpoints('round-robin', 2);
    for (const e of list) e.breaker.failed('connection refused');
    expect(set.pick()).toBeUndefined();
    expect(set.describe()).toMatch(
      /^http:\/\/e0 circuit open after 1 consecutive failure\(s\) \(last: connection refused\), next probe in \d+ms; http:\/\/e1 circuit open after/,
    );
  });
});
