import type { Snapshot } from '../protocol.js';

/** Rates over the last few snapshots, in records per second. */
export interface RateView {
  /** The newest snapshot's time, seconds since the epoch (uPlot's time axis). */
  readonly time: number;
  readonly streamlets: Readonly<Record<string, { readonly in: number; readonly out: number; readonly latencyMs: number | null }>>;
  /** Per `streamlet.inlet`. */
  readonly inlets: Readonly<Record<string, number>>;
  /** Per `streamlet.outlet`. */
  readonly outlets: Readonly<Record<string, number>>;
}

/** Rates are taken over about this long: two snapshots 500 ms apart would make a stream of one update a second flicker between 0 and 2/s. */
const WINDOW_MS = 2_000;
/** Two snapshots closer than this (a page's first one is sent at once, the next by the timer) give no rate. */
const SHORTEST_MS = 400;

const sum = (values: Readonly<Record<string, number>>) => Object.values(values).reduce((a, b) => a + b, 0);

/** Counters only grow; a negative difference (a restarted server) counts as zero. */
const rate = (now: number, before: number | undefined, seconds: number) => Math.max(0, now - (before ?? now)) / seconds;

/** Rates from the differences between the newest snapshot and the oldest one of the last {@link WINDOW_MS}. */
export class Rates {
  /** Bounded by the window: snapshots older than it are dropped. */
  private readonly recent: Snapshot[] = [];

  update(snapshot: Snapshot): RateView | undefined {
    this.recent.push(snapshot);
    while (this.recent.length > 2 && snapshot.time - (this.recent[1] as Snapshot).time >= WINDOW_MS) this.recent.shift();
    const before = this.recent[0] as Snapshot;
    const elapsed = snapshot.time - before.time;
    if (elapsed < SHORTEST_MS) return undefined;
    const seconds = elapsed / 1000;
    const streamlets: Record<string, { in: number; out: number; latencyMs: number | null }> = {};
    const inlets: Record<string, number> = {};
    const outlets: Record<string, number> = {};
    for (const [name, now] of Object.entries(snapshot.streamlets)) {
      const then = before.streamlets[name];
      for (const [port, n] of Object.entries(now.in)) inlets[`${name}.${port}`] = rate(n, then?.in[port], seconds);
      for (const [port, n] of Object.entries(now.out)) outlets[`${name}.${port}`] = rate(n, then?.out[port], seconds);
      let latencyMs: number | null = null;
      if (now.modelCalls && then?.modelCalls) {
        const calls = now.modelCalls.count - then.modelCalls.count;
        if (calls > 0) latencyMs = ((now.modelCalls.seconds - then.modelCalls.seconds) / calls) * 1000;
      }
      streamlets[name] = {
        in: rate(sum(now.in), then ? sum(then.in) : undefined, seconds),
        out: rate(sum(now.out), then ? sum(then.out) : undefined, seconds),
        latencyMs,
      };
    }
    return { time: snapshot.time / 1000, streamlets, inlets, outlets };
  }
}
