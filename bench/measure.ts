/**
 * The Crayfish harness for one serving configuration, in four stages:
 * 1. raw: the model called directly on batches of 1, 8, 64 and 512 of the workload's records;
 * 2. sweep: the pipeline flat out at each batching: batch-size 1 (the reference design: one
 *    blocking model call per record), fixed batches of 8, 64 and 512 (a batch waits to fill),
 *    and adaptive (model-serving's default: whatever is waiting, up to 512);
 * 3. stepping: the input rate stepped up ×1.5 from a fifth of the adaptive flat-out rate until a
 *    step is not sustained, twice (bench/harness/stepping.ts), then narrowed by bisection;
 * 4. latency: creation → sink latency at 25%, 50%, 75% and 90% of the sustainable rate.
 */
import type { PipelineSession, ServingConfiguration } from './configurations.js';
import { cdfPoints, median, type CdfPoint, type LatencySummary } from './harness/quantiles.js';
import { measureRaw, openRawModel } from './harness/raw.js';
import type { PacedMeasurement } from './harness/session.js';
import { defaultCriterion, judgeStep, RateSearch } from './harness/stepping.js';
import type { Progress } from './report/progress.js';
import { fmt, ms, percent } from './report/table.js';
import type { ModelDescriptor } from '../src/serving/descriptor.js';
import type { AnyWorkload } from './workloads/workload.js';

export const stages = ['raw', 'sweep', 'stepping', 'latency'] as const;
export type Stage = (typeof stages)[number];

export interface Batching {
  readonly id: string;
  readonly label: string;
  readonly batchSize: number;
  /** ms a batch may wait to fill. */
  readonly batchWait: number;
  /** The raw batch size it is set against. */
  readonly rawBatch: number;
}

/** A fixed batch waits up to this long for its records (under load it fills long before). */
const FIXED_BATCH_WAIT_MS = 1_000;

export const batchings: readonly Batching[] = [
  { id: '1', label: 'batch-size 1 (reference design)', batchSize: 1, batchWait: 0, rawBatch: 1 },
  { id: '8', label: 'fixed batches of 8', batchSize: 8, batchWait: FIXED_BATCH_WAIT_MS, rawBatch: 8 },
  { id: '64', label: 'fixed batches of 64', batchSize: 64, batchWait: FIXED_BATCH_WAIT_MS, rawBatch: 64 },
  { id: '512', label: 'fixed batches of 512', batchSize: 512, batchWait: FIXED_BATCH_WAIT_MS, rawBatch: 512 },
  { id: 'adaptive', label: 'adaptive, up to 512 (default)', batchSize: 512, batchWait: 0, rawBatch: 512 },
];
const ADAPTIVE = batchings.find((b) => b.id === 'adaptive') as Batching;

export const LATENCY_FRACTIONS = [0.25, 0.5, 0.75, 0.9] as const;
/** Share of each paced phase's first records left out of its latencies. */
export const WARMUP_SHARE = 0.25;
/** The stepping starts at this share of the adaptive flat-out rate, and multiplies the rate by STEP_FACTOR per step. */
const STEP_START_SHARE = 0.2;
const STEP_FACTOR = 1.5;

export interface Timing {
  readonly rounds: number;
  /** The batchings the sweep runs (ids of {@link batchings}); the raw stage measures their raw batch sizes. */
  readonly batchings: readonly string[];
  readonly rawSeconds: number;
  readonly rawWarmupSeconds: number;
  readonly flatSeconds: number;
  readonly flatWarmupSeconds: number;
  readonly stepSeconds: number;
  /** A paced phase at the first step's rate before the steps (and before the latency phases), not measured. */
  readonly pacedWarmupSeconds: number;
  readonly refinements: number;
  readonly maxSteps: number;
  readonly latencySeconds: number;
  readonly drainSeconds: number;
}

export const fullTiming: Timing = {
  rounds: 3,
  batchings: batchings.map((b) => b.id),
  rawSeconds: 0.75,
  rawWarmupSeconds: 0.25,
  flatSeconds: 1.25,
  flatWarmupSeconds: 0.5,
  stepSeconds: 2,
  pacedWarmupSeconds: 1,
  refinements: 2,
  maxSteps: 12,
  latencySeconds: 4,
  drainSeconds: 2,
};

export const quickTiming: Timing = {
  rounds: 1,
  batchings: ['1', '64', 'adaptive'],
  rawSeconds: 0.3,
  rawWarmupSeconds: 0.1,
  flatSeconds: 0.5,
  flatWarmupSeconds: 0.25,
  stepSeconds: 0.6,
  pacedWarmupSeconds: 0.3,
  refinements: 1,
  maxSteps: 7,
  latencySeconds: 0.6,
  drainSeconds: 1,
};

export interface ThroughputSummary {
  /** Records/s of each round. */
  readonly runs: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Records per CPU-second of the whole process (every thread), median over the rounds. */
  readonly perCpuSecond: number;
  /** Records per model call, and ms per call (raw: one call; pipeline: model-serving's reported duration), medians. */
  readonly meanBatch: number;
  readonly msPerCall: number;
}

export interface SweepPoint {
  readonly batching: string;
  readonly label: string;
  readonly batchSize: number;
  readonly batchWait: number;
  readonly pipeline: ThroughputSummary;
  /** Pipeline over the raw model at its batch size, by records/s and by records per CPU-second. */
  readonly vsRaw?: number;
  readonly vsRawPerCpu?: number;
}

/** A paced phase as the results keep it (the latencies themselves only as CDF points). */
export type PacedSummary = Omit<PacedMeasurement, 'latencies'>;

export interface Step extends PacedSummary {
  readonly sustained: boolean;
  readonly reasons: readonly string[];
  /** 2 for the retry of a failed step at the same rate. */
  readonly attempt: number;
}

export interface LatencyPoint extends PacedSummary {
  readonly fraction: number;
  readonly cdf: readonly CdfPoint[];
}

export interface ConfigurationResult {
  readonly id: string;
  readonly label: string;
  readonly workload: string;
  readonly workloadLabel: string;
  readonly executor: string;
  readonly runtime: string;
  readonly model: { readonly name: string; readonly type: string };
  /** Load averages when the configuration started. */
  readonly loadavg: readonly number[];
  readonly seconds: number;
  readonly raw?: { readonly how: string; readonly byBatch: Readonly<Record<string, ThroughputSummary>> };
  readonly sweep?: readonly SweepPoint[];
  readonly stepping?: {
    readonly start: number;
    readonly factor: number;
    readonly criterion: typeof defaultCriterion;
    readonly steps: readonly Step[];
    readonly sustainable?: number;
    readonly failedAt?: number;
  };
  readonly latency?: readonly LatencyPoint[];
}

/** What one configuration's stages measure: its workload (built for this configuration alone) and model. */
interface Target {
  readonly configuration: ServingConfiguration;
  readonly workload: AnyWorkload;
  readonly model: ModelDescriptor;
}

export interface MeasureContext {
  readonly timing: Timing;
  readonly stages: ReadonlySet<Stage>;
  readonly progress: Progress;
  /** A full garbage collection before every measurement: each starts from the same clean heap. */
  readonly collectGarbage: () => void;
  readonly loadavg: () => readonly number[];
}

const chosenBatchings = (timing: Timing): Batching[] => batchings.filter((b) => timing.batchings.includes(b.id));

/** A timed run as the summaries read it. */
interface Run {
  readonly records: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly meanBatch: number;
  readonly msPerCall: number;
}

function summarize(runs: readonly Run[]): ThroughputSummary {
  const rates = runs.map((r) => r.records / r.seconds);
  return {
    runs: rates,
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    perCpuSecond: median(runs.map((r) => r.records / r.cpuSeconds)),
    meanBatch: median(runs.map((r) => r.meanBatch)),
    msPerCall: median(runs.map((r) => r.msPerCall)),
  };
}

function pacedSummary(m: PacedMeasurement): PacedSummary {
  const { latencies: _, ...kept } = m;
  return kept;
}

export async function measureConfiguration(configuration: ServingConfiguration, context: MeasureContext): Promise<ConfigurationResult> {
  const { timing, stages: wanted, progress } = context;
  const started = performance.now();
  const loadavg = context.loadavg();
  // Built for this configuration and dropped after it: a workload's records held on to would
  // weigh on every garbage collection of the configurations after it.
  const workload = configuration.buildWorkload();
  const makeModel = workload.models[configuration.executor];
  if (!makeModel) throw new Error(`${configuration.id}: the ${workload.id} workload has no ${configuration.executor} model`);
  const prepared = progress.step(`${configuration.id}: model`);
  prepared.update('building');
  const model = await makeModel();
  prepared.done(`${model.modelName} (${model.modelType}, ${fmt((model.modelBytes?.length ?? 0) / 1024, 0)} KiB)`);

  const target: Target = { configuration, workload, model };
  const raw = wanted.has('raw') ? await rawStage(target, context) : undefined;
  const sweep = wanted.has('sweep') ? await sweepStage(target, context, raw?.byBatch) : undefined;
  const needRate = wanted.has('stepping') || wanted.has('latency');
  const flatOut = sweep?.find((p) => p.batching === ADAPTIVE.id)?.pipeline.median ?? (needRate ? await calibrate(target, context) : undefined);
  const stepping = needRate && flatOut !== undefined ? await steppingStage(target, context, flatOut) : undefined;
  const latency = wanted.has('latency') && stepping?.sustainable !== undefined ? await latencyStage(target, context, stepping.sustainable) : undefined;
  return {
    id: configuration.id,
    label: configuration.label,
    workload: workload.id,
    workloadLabel: workload.label,
    executor: configuration.executor,
    runtime: configuration.runtime,
    model: { name: model.modelName, type: model.modelType },
    loadavg,
    seconds: (performance.now() - started) / 1000,
    ...(raw ? { raw } : {}),
    ...(sweep ? { sweep } : {}),
    ...(stepping && wanted.has('stepping') ? { stepping } : {}),
    ...(latency ? { latency } : {}),
  };
}

async function rawStage({ configuration, workload, model }: Target, context: MeasureContext) {
  const rawModel = await openRawModel(model, workload.adapter);
  const sizes = [...new Set(chosenBatchings(context.timing).map((b) => b.rawBatch))];
  const runs = new Map<number, Run[]>(sizes.map((b) => [b, []]));
  try {
    for (let round = 1; round <= context.timing.rounds; round++) {
      for (const batchSize of sizes) {
        const line = context.progress.step(`${configuration.id}: raw model, batch ${batchSize}, round ${round}/${context.timing.rounds}`);
        line.update('measuring');
        context.collectGarbage();
        const m = await measureRaw(rawModel, workload, batchSize, context.timing.rawSeconds, context.timing.rawWarmupSeconds);
        runs.get(batchSize)?.push({ ...m, meanBatch: m.records / m.calls, msPerCall: (1000 * m.seconds) / m.calls });
        line.done(`${fmt(m.records / m.seconds)} records/s`);
      }
    }
  } finally {
    await rawModel.release();
  }
  const byBatch: Record<string, ThroughputSummary> = {};
  for (const [batchSize, measured] of runs) byBatch[String(batchSize)] = summarize(measured);
  return { how: rawModel.how, byBatch };
}

async function flatOutRun({ configuration, workload, model }: Target, batching: Batching, context: MeasureContext) {
  context.collectGarbage();
  const session = await configuration.start({ workload, model, batchSize: batching.batchSize, batchWait: batching.batchWait });
  try {
    // The session is stopped next: what is in flight need not arrive.
    return await session.flatOut({ seconds: context.timing.flatSeconds, warmupSeconds: context.timing.flatWarmupSeconds, drain: false });
  } finally {
    await session.stop();
  }
}

async function sweepStage(target: Target, context: MeasureContext, raw: Readonly<Record<string, ThroughputSummary>> | undefined): Promise<SweepPoint[]> {
  const chosen = chosenBatchings(context.timing);
  const runs = new Map<string, Run[]>(chosen.map((b) => [b.id, []]));
  for (let round = 1; round <= context.timing.rounds; round++) {
    for (const batching of chosen) {
      const line = context.progress.step(`${target.configuration.id}: pipeline flat out, ${batching.label}, round ${round}/${context.timing.rounds}`);
      line.update('measuring');
      const t = await flatOutRun(target, batching, context);
      runs.get(batching.id)?.push(t);
      line.done(`${fmt(t.records / t.seconds)} records/s, ${fmt(t.meanBatch, 1)} records/call`);
    }
  }
  return chosen.map((batching) => {
    const pipeline = summarize(runs.get(batching.id) ?? []);
    const limit = raw?.[String(batching.rawBatch)];
    return {
      batching: batching.id,
      label: batching.label,
      batchSize: batching.batchSize,
      batchWait: batching.batchWait,
      pipeline,
      ...(limit ? { vsRaw: pipeline.median / limit.median, vsRawPerCpu: pipeline.perCpuSecond / limit.perCpuSecond } : {}),
    };
  });
}

/** Without the sweep, one flat-out run of the adaptive batching sets where the stepping starts. */
async function calibrate(target: Target, context: MeasureContext): Promise<number> {
  const line = context.progress.step(`${target.configuration.id}: calibration, flat out`);
  line.update('measuring');
  const t = await flatOutRun(target, ADAPTIVE, context);
  line.done(`${fmt(t.records / t.seconds)} records/s`);
  return t.records / t.seconds;
}

async function openAdaptive({ configuration, workload, model }: Target, context: MeasureContext, warmupRate: number): Promise<PipelineSession> {
  context.collectGarbage();
  const session = await configuration.start({ workload, model, batchSize: ADAPTIVE.batchSize, batchWait: ADAPTIVE.batchWait });
  try {
    await session.paced({ rate: warmupRate, seconds: context.timing.pacedWarmupSeconds, warmupShare: 1, drainSeconds: context.timing.drainSeconds });
  } catch (err) {
    await session.stop();
    throw err;
  }
  return session;
}

function stepText(m: PacedMeasurement | PacedSummary): string {
  return (
    `${fmt(m.emitted / m.seconds)} emitted/s, lag ${fmt(m.lagMid)}→${fmt(m.lagEnd)}, p50 ${ms(m.latency.p50)} p99 ${ms(m.latency.p99)} ms, ` +
    `${fmt(m.meanBatch, 1)} records/call, CPU ${percent(m.cpuShare)}`
  );
}

async function steppingStage(target: Target, context: MeasureContext, flatOut: number) {
  const { timing } = context;
  const { configuration } = target;
  const start = Math.max(1, Math.round(flatOut * STEP_START_SHARE));
  const search = new RateSearch({ start, factor: STEP_FACTOR, refinements: timing.refinements, maxSteps: timing.maxSteps });
  const steps: Step[] = [];
  let session: PipelineSession | undefined;
  try {
    for (let rate = search.next(); rate !== undefined; rate = search.next()) {
      // A failed step is tried once more on a fresh pipeline, and fails only if the retry fails
      // too: one stall of a shared machine should not end the search half-way.
      let sustained = false;
      for (let attempt = 1; attempt <= 2 && !sustained; attempt++) {
        const line = context.progress.step(`${configuration.id}: step ${steps.length + 1} at ${fmt(rate)} records/s${attempt > 1 ? ', retried' : ''}`);
        session ??= await openAdaptive(target, context, Math.min(rate, start));
        const m = await session.paced({
          rate,
          seconds: timing.stepSeconds,
          warmupShare: WARMUP_SHARE,
          drainSeconds: timing.drainSeconds,
          onProgress: (elapsed, lag) => line.update(`${elapsed.toFixed(1)} s, lag ${fmt(lag)} records`),
        });
        const verdict = judgeStep({ ...m, p99: m.latency.p99 }, defaultCriterion);
        sustained = verdict.sustained;
        steps.push({ ...pacedSummary(m), sustained, reasons: verdict.reasons, attempt });
        line.done(`${sustained ? 'sustained' : 'NOT sustained'}: ${stepText(m)}${sustained ? '' : ` (${verdict.reasons.join('; ')})`}`);
        // A step that was not sustained leaves a backlog behind: what follows starts on a fresh pipeline.
        if (!sustained) {
          await session.stop();
          session = undefined;
        }
      }
      search.record(rate, sustained);
    }
  } finally {
    await session?.stop();
  }
  const { sustainable, failedAt } = search.result();
  context.progress.note(
    `  ${configuration.id}: sustainable ${sustainable === undefined ? 'not found' : `${fmt(sustainable)} records/s`}` +
      (failedAt === undefined ? ' (no step failed)' : `, not sustained at ${fmt(failedAt)} records/s`),
  );
  return {
    start,
    factor: STEP_FACTOR,
    criterion: defaultCriterion,
    steps,
    ...(sustainable === undefined ? {} : { sustainable }),
    ...(failedAt === undefined ? {} : { failedAt }),
  };
}

async function latencyStage(target: Target, context: MeasureContext, sustainable: number): Promise<LatencyPoint[]> {
  const { timing } = context;
  const { configuration } = target;
  const points: LatencyPoint[] = [];
  const session = await openAdaptive(target, context, Math.round(sustainable * (LATENCY_FRACTIONS[0] as number)));
  try {
    for (const fraction of LATENCY_FRACTIONS) {
      const rate = Math.max(1, Math.round(sustainable * fraction));
      const line = context.progress.step(`${configuration.id}: latency at ${percent(fraction)} (${fmt(rate)} records/s)`);
      const m = await session.paced({
        rate,
        seconds: timing.latencySeconds,
        warmupShare: WARMUP_SHARE,
        drainSeconds: timing.drainSeconds,
        onProgress: (elapsed, lag) => line.update(`${elapsed.toFixed(1)} s, lag ${fmt(lag)} records`),
      });
      points.push({ ...pacedSummary(m), fraction, cdf: cdfPoints(m.latencies) });
      line.done(stepText(m));
    }
  } finally {
    await session.stop();
  }
  return points;
}
