/**
 * The bench's own streamlet: a sink that decodes and counts the model-serving results, and
 * stamps when the timed window starts and ends. It does nothing else per record, so what the
 * bench measures is the pipeline, not an egress.
 */
import { performance } from 'node:perf_hooks';
import { RecommenderResultSchema } from '../examples/recommender/schemas.js';
import { defineStreamlet } from '../src/core/streamlet.js';
import { ScoringAuditSchema } from '../src/serving/audit.js';

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
