/**
 * The bench's own streamlets:
 * - a sink that decodes and counts the model-serving results, and stamps when the timed window
 *   starts and ends. It does nothing else per record, so what the bench measures is the
 *   pipeline, not an egress;
 * - for the latency rows, a rate-limited ingress that generates DataIngress's records and
 *   stamps when it emits each one, and a sink that stamps when each result arrives.
 */
import { performance } from 'node:perf_hooks';
import { RecommenderRecordSchema, RecommenderResultSchema, type RecommenderRecord } from '../examples/recommender/schemas.js';
import { config } from '../src/core/config.js';
import { defineStreamlet, outlet } from '../src/core/streamlet.js';
import { ScoringAuditSchema } from '../src/serving/audit.js';
import { paced } from '../src/util/pacing.js';
import { recordGenerator } from './records.js';

export interface CountingProbe {
  /** Results scored by a model (`modelResultMetadata.errors` is empty) before the timed window starts. */
  readonly warmup: number;
  /** Results the sink waits for in all; `done` resolves when they are counted. */
  readonly expected: number;
  /** Results with an empty error, i.e. scored by a model. */
  scored: number;
  /** Results carrying `No model server defined` (before the model was installed) or a scoring error. */
  unscored: number;
  batches: number;
  /** performance.now() when the first scored result was counted. */
  firstScoredAt?: number;
  /** When `warmup` scored results have been counted (end of the batch that crossed it), and `scored` then. */
  windowStart?: { at: number; scored: number; cpu: NodeJS.CpuUsage };
  /** When the last expected result was counted. */
  windowEnd?: { at: number; scored: number; cpu: NodeJS.CpuUsage };
  /** Called once when the window starts (e.g. to snapshot `/state`). */
  onWindowStart?: () => void;
  /** Called once when the window ends. */
  onWindowEnd?: () => void;
  readonly done: Promise<void>;
  finish(): void;
}

export function createProbe(expected: number, warmup: number): CountingProbe {
  let finish = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { warmup, expected, scored: 0, unscored: 0, batches: 0, done, finish };
}

/** A sink that counts recommender results into `probe`. */
export function countingEgress(probe: CountingProbe) {
  return defineStreamlet({
    description: 'Counts recommender results, for the benchmark',
    inlets: { in: RecommenderResultSchema },
    async run(ctx) {
      for await (const batch of ctx.inlet('in').batches()) {
        probe.batches++;
        // Until the model is in, check every result; afterwards nothing is unscored unless scoring fails.
        for (const result of batch) {
          if (result.modelResultMetadata.errors === '') probe.scored++;
          else probe.unscored++;
        }
        const now = performance.now();
        if (probe.firstScoredAt === undefined && probe.scored > 0) probe.firstScoredAt = now;
        if (probe.windowStart === undefined && probe.scored >= probe.warmup) {
          probe.windowStart = { at: now, scored: probe.scored, cpu: process.cpuUsage() };
          probe.onWindowStart?.();
        }
        if (probe.windowEnd === undefined && probe.scored + probe.unscored >= probe.expected) {
          probe.windowEnd = { at: now, scored: probe.scored, cpu: process.cpuUsage() };
          probe.onWindowEnd?.();
          probe.finish();
        }
      }
    },
  });
}

/** Reads and drops the audit log, so that writing it is measured in full. */
export const Discard = defineStreamlet({
  description: 'Reads scoring audit records and drops them, for the benchmark',
  inlets: { in: ScoringAuditSchema },
  async run(ctx) {
    for await (const batch of ctx.inlet('in').batches()) void batch;
  },
});

/**
 * What the latency rows record. The local runtime keeps order end to end (one partition, FIFO
 * topics, model-serving emits results in input order), so the k-th result at the sink is the
 * k-th record the ingress emitted: no timestamp travels with the records. The sink checks that
 * pairing on every record (same user, same number of products).
 */
export interface LatencyProbe {
  /** Records the ingress emits and the sink waits for. */
  readonly total: number;
  /** Results before the measured window (not counted in the latencies). */
  readonly warmup: number;
  /** performance.now() when the ingress emitted record k. */
  readonly emittedAt: Float64Array;
  /** performance.now() when result k reached the sink. */
  readonly arrivedAt: Float64Array;
  /** Record k's user and product count, to check the pairing at the sink. */
  readonly users: Int32Array;
  readonly productCounts: Uint8Array;
  emitted: number;
  arrived: number;
  /** Results whose record is not the one emitted at the same position. */
  mismatches: number;
  /** Results with an error (no model, or a scoring failure). */
  unscored: number;
  windowStart?: { at: number; arrived: number; cpu: NodeJS.CpuUsage };
  windowEnd?: { at: number; arrived: number; cpu: NodeJS.CpuUsage };
  onWindowStart?: () => void;
  /** The ingress starts its clock once this resolves (the bench opens it when the model serves). */
  readonly gate: Promise<void>;
  open(): void;
  readonly done: Promise<void>;
  finish(): void;
}

export function createLatencyProbe(total: number, warmup: number): LatencyProbe {
  let finish = () => {};
  let open = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    total,
    warmup,
    emittedAt: new Float64Array(total),
    arrivedAt: new Float64Array(total),
    users: new Int32Array(total),
    productCounts: new Uint8Array(total),
    emitted: 0,
    arrived: 0,
    mismatches: 0,
    unscored: 0,
    gate,
    open,
    done,
    finish,
  };
}

/**
 * DataIngress's stream (same generator, seed and outlet) at a given rate, stamping each record's
 * emission into the probe. It paces itself as DataIngress does (src/util/pacing.ts: whatever is
 * due since the start, so the rate holds even when a tick comes late), but on a fine tick,
 * 1 ms by default: at low rates records then come a few at a time, as from a real source, and
 * batches downstream stay small. (DataIngress's 10 ms tick would add up to 10 ms of queueing
 * to every latency.)
 */
export function pacedIngress(probe: LatencyProbe) {
  return defineStreamlet({
    description: 'Generates recommender requests at a set rate and stamps when each is emitted, for the benchmark',
    outlets: { out: outlet(RecommenderRecordSchema, (r) => String(r.user)) },
    config: {
      'records-per-second': config.double({ description: 'Generation rate; 0 means as fast as the pipeline takes them', default: 1000, min: 0 }),
      'max-records': config.integer({ description: "Stop after this many records (at most the probe's total)", default: 0, min: 0 }),
      seed: config.integer({ description: 'Seed of the generator', default: 42 }),
      tick: config.double({ description: 'ms between emissions', default: 1, min: 0.1 }),
    },
    async run(ctx) {
      const next = recordGenerator(ctx.config.seed);
      const limit = Math.min(ctx.config['max-records'] || probe.total, probe.total);
      // The clock starts when the bench opens the gate (the model serves), not at deployment.
      await Promise.race([probe.gate, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))]);
      const pacing = { rate: ctx.config['records-per-second'], limit, signal: ctx.signal, tickMs: ctx.config.tick };
      await paced(pacing, async (count) => {
        const from = probe.emitted;
        const batch = new Array<RecommenderRecord>(count);
        for (let i = 0; i < count; i++) {
          const record = next();
          batch[i] = record;
          probe.users[from + i] = record.user;
          probe.productCounts[from + i] = record.products.length;
        }
        // Emitted now: the stamp is the moment the batch is handed to the runtime.
        probe.emittedAt.fill(performance.now(), from, from + count);
        probe.emitted = from + count;
        await ctx.emitAll('out', batch);
      });
    },
  });
}

/** A sink that stamps when each result arrives, pairs it with the record emitted at its position, and checks the pairing. */
export function latencyEgress(probe: LatencyProbe) {
  return defineStreamlet({
    description: 'Stamps the arrival of recommender results, for the benchmark',
    inlets: { in: RecommenderResultSchema },
    async run(ctx) {
      for await (const batch of ctx.inlet('in').batches()) {
        const now = performance.now();
        for (const result of batch) {
          const k = probe.arrived++;
          if (k >= probe.total) continue;
          probe.arrivedAt[k] = now;
          if (result.modelResultMetadata.errors !== '') probe.unscored++;
          const record = result.inputRecord;
          if (record.user !== probe.users[k] || record.products.length !== probe.productCounts[k]) probe.mismatches++;
        }
        if (probe.windowStart === undefined && probe.arrived >= probe.warmup) {
          probe.windowStart = { at: now, arrived: probe.arrived, cpu: process.cpuUsage() };
          probe.onWindowStart?.();
        }
        if (probe.windowEnd === undefined && probe.arrived >= probe.total) {
          probe.windowEnd = { at: now, arrived: probe.arrived, cpu: process.cpuUsage() };
          probe.finish();
        }
      }
    },
  });
}
