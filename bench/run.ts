/**
 * `npm run bench`: the recommender pipeline on the local runtime, against the limits measured
 * in the same run. Absolute numbers on shared 2-core machines are noisy; the ratios, measured
 * side by side and interleaved round by round, are what count (DESIGN.md, "Performance").
 *
 * Three tables:
 * 1. raw onnxruntime and the ONNX pipeline (batch sizes, the cost of metrics and audit);
 * 2. per executor (ONNX, TF.js, PMML): the model raw through the executor's `infer`, and the
 *    pipeline serving it, at batch 1 and at the adaptive batch (batch-size 512), as ratios;
 * 3. per executor: per-record latency (emission to sink) at half the pipeline's measured
 *    throughput, run after the throughput rounds, which give that rate.
 *
 *   npx tsx bench/run.ts [--quick] [--rounds=N] [--only=<kind>|<executor>|<id>,...] [--json=PATH|--no-json]
 *
 * kinds: raw (onnxruntime), infer (raw executor), pipeline, latency; executors: onnx, tfjs, pmml.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { packageRoot } from '../src/util/package-root.js';
import type { ModelDescriptor } from '../src/serving/descriptor.js';
import type { LoadedModel } from '../src/serving/executor.js';
import { measureLatency, type LatencyMeasurement } from './latency.js';
import { executorIds, executorLabels, executorModel, prepareModel, type ExecutorId } from './model.js';
import { measurePipeline, type PipelineMeasurement } from './pipeline.js';
import { inferBatchesOf, loadModel, measureInfer } from './raw-executor.js';
import { batchesOf, measureRawOrt, openSession, type Measurement } from './raw-ort.js';
import type { RecommenderRecord } from '../examples/recommender/schemas.js';
import { recommenderRecords } from './records.js';

interface Args {
  readonly quick: boolean;
  readonly rounds: number;
  /** Kinds (`raw`, `infer`, `pipeline`, `latency`), executors (`onnx`, `tfjs`, `pmml`) or configuration ids (`pipeline-512`) to run; all when undefined. */
  readonly only: readonly string[] | undefined;
  readonly json: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let rounds: number | undefined;
  let only: Args['only'];
  let json: string | undefined = join(packageRoot(), 'bench', 'results', 'latest.json');
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--rounds=')) rounds = Number(arg.slice('--rounds='.length));
    else if (arg.startsWith('--only=')) only = arg.slice('--only='.length).split(',');
    else if (arg.startsWith('--json=')) json = arg.slice('--json='.length);
    else if (arg === '--no-json') json = undefined;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npx tsx bench/run.ts [--quick] [--rounds=N] [--only=<kind>|<executor>|<id>,...] [--json=PATH|--no-json]');
      console.log('kinds: raw (onnxruntime), infer (raw executor), pipeline, latency; executors: onnx, tfjs, pmml');
      console.log(
        `ids: ${configs(false)
          .map((c) => c.id)
          .join(', ')}`,
      );
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg} (try --help)`);
      process.exit(2);
    }
  }
  rounds ??= 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  return { quick, rounds, only, json };
}

/** One configuration: what is measured, and how many records (timed; a warm-up share of 25% runs first). */
interface Config {
  readonly id: string;
  readonly label: string;
  /** raw: onnxruntime directly; infer: the executor's infer; pipeline: runApplication; latency: the paced pipeline. */
  readonly kind: 'raw' | 'infer' | 'pipeline' | 'latency';
  readonly batchSize: number;
  /** Records timed (0 for a latency run, which is timed by `seconds`). */
  readonly records: number;
  /** A latency run: seconds of records measured at its rate (a warm-up share of 25% runs first). */
  readonly seconds?: number;
  /** The executor of a per-executor row (tables 2 and 3). */
  readonly executor?: ExecutorId;
  /** Extra `key=value` settings of a pipeline run. */
  readonly overrides?: readonly string[];
}

const WARMUP_SHARE = 0.25;
/** Records of the stream whose batches raw onnxruntime and the raw executors cycle through. */
const POOL = 65_536;
/** Latency runs at half the adaptive pipeline's records/s. */
const LATENCY_LOAD = 0.5;

/**
 * Records per configuration, sized for about 1–1.5 s per run on an idle machine (a quick run
 * takes a fifth). TF.js and PMML score far fewer records per second than onnxruntime, so their
 * runs take fewer records.
 */
function configs(quick: boolean): Config[] {
  const n = (full: number) => (quick ? Math.round(full / 5) : full);
  const perExecutor = (executor: ExecutorId, sizes: { infer1: number; infer512: number; pipe1: number; pipe512: number }): Config[] => {
    const name = executorLabels[executor];
    return [
      { id: `infer-${executor}-1`, label: `${name} raw infer, batch 1`, kind: 'infer', batchSize: 1, records: n(sizes.infer1), executor },
      { id: `infer-${executor}-512`, label: `${name} raw infer, batch 512`, kind: 'infer', batchSize: 512, records: n(sizes.infer512), executor },
      ...(executor === 'onnx'
        ? [] // the ONNX pipeline rows are pipeline-1 and pipeline-512 of table 1
        : [
            {
              id: `pipeline-${executor}-512`,
              label: `${name} pipeline, batch-size 512`,
              kind: 'pipeline',
              batchSize: 512,
              records: n(sizes.pipe512),
              executor,
            } as const,
            {
              id: `pipeline-${executor}-1`,
              label: `${name} pipeline, batch-size 1`,
              kind: 'pipeline',
              batchSize: 1,
              records: n(sizes.pipe1),
              executor,
            } as const,
          ]),
    ];
  };
  return [
    { id: 'raw-1', label: 'raw onnxruntime, batch 1', kind: 'raw', batchSize: 1, records: n(50_000) },
    { id: 'raw-64', label: 'raw onnxruntime, batch 64', kind: 'raw', batchSize: 64, records: n(1_000_000) },
    { id: 'raw-512', label: 'raw onnxruntime, batch 512', kind: 'raw', batchSize: 512, records: n(2_000_000) },
    ...perExecutor('onnx', { infer1: 50_000, infer512: 2_000_000, pipe1: 0, pipe512: 0 }),
    ...perExecutor('tfjs', { infer1: 6_000, infer512: 60_000, pipe1: 4_000, pipe512: 50_000 }),
    ...perExecutor('pmml', { infer1: 50_000, infer512: 60_000, pipe1: 20_000, pipe512: 50_000 }),
    { id: 'pipeline-512', label: 'pipeline, batch-size 512', kind: 'pipeline', batchSize: 512, records: n(300_000), executor: 'onnx' },
    { id: 'pipeline-64', label: 'pipeline, batch-size 64', kind: 'pipeline', batchSize: 64, records: n(200_000) },
    { id: 'pipeline-1', label: 'pipeline, batch-size 1 (reference design)', kind: 'pipeline', batchSize: 1, records: n(30_000), executor: 'onnx' },
    {
      id: 'pipeline-512-no-metrics',
      label: 'pipeline, batch-size 512, metrics off',
      kind: 'pipeline',
      batchSize: 512,
      records: n(300_000),
      overrides: ['sluice.metrics.enabled=false'],
    },
    {
      id: 'pipeline-512-audit',
      label: 'pipeline, batch-size 512, 1% audit log',
      kind: 'pipeline',
      batchSize: 512,
      records: n(300_000),
      overrides: ['model-serving.audit-sample-rate=0.01'],
    },
    ...executorIds.map((executor): Config => ({
      id: `latency-${executor}`,
      label: `${executorLabels[executor]} latency at ${LATENCY_LOAD * 100}% load`,
      kind: 'latency',
      batchSize: 512,
      records: 0,
      seconds: quick ? 1 : 6,
      executor,
    })),
  ];
}

/**
 * A full garbage collection, run before every measurement so that each one starts from the same
 * clean heap rather than inheriting the previous run's garbage (a major collection falling in a
 * sub-second window moves it by 10–30%). `npm run bench` runs without `--expose-gc`; the flag
 * set at run time exposes `gc` to a new context.
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** The adaptive-batch pipeline row of an executor: its records/s sets the latency rows' rate. */
const adaptiveId = (executor: ExecutorId): string => (executor === 'onnx' ? 'pipeline-512' : `pipeline-${executor}-512`);
const executorRowIds = (executor: ExecutorId): string[] =>
  executor === 'onnx'
    ? ['infer-onnx-1', 'pipeline-1', 'infer-onnx-512', 'pipeline-512']
    : [`infer-${executor}-1`, `pipeline-${executor}-1`, `infer-${executor}-512`, `pipeline-${executor}-512`];

type Run = Measurement & Partial<Omit<PipelineMeasurement, keyof Measurement>>;

interface Summary {
  readonly id: string;
  readonly label: string;
  readonly kind: Config['kind'];
  readonly executor?: ExecutorId;
  readonly batchSize: number;
  readonly runs: readonly Run[];
  /** Median over rounds of records/s; min and max beside it. */
  readonly recordsPerSecond: { readonly median: number; readonly min: number; readonly max: number };
  readonly rowsPerSecond: number;
  /** Records per CPU-second (all threads of the process), median. */
  readonly recordsPerCpuSecond: number;
  readonly meanBatch: number;
  /** ms per model call: raw, onnxruntime's run or the executor's infer; pipeline, model-serving's reported duration. */
  readonly msPerCall: number;
  /** Median records/s over raw onnxruntime's median at the same batch size. */
  readonly vsRawOrt?: number;
  /** The same ratio for records per CPU-second (less sensitive to other load on the machine). */
  readonly vsRawOrtPerCpu?: number;
  /** A per-executor pipeline row: median records/s over the executor's raw infer at the same batch size. */
  readonly vsRawInfer?: number;
  readonly vsRawInferPerCpu?: number;
}

interface LatencySummary {
  readonly id: string;
  readonly label: string;
  readonly executor: ExecutorId;
  /** The adaptive pipeline's records/s that the rate is half of, and where it came from. */
  readonly sustainable: number;
  readonly sustainableFrom: string;
  readonly targetRate: number;
  readonly runs: readonly LatencyMeasurement[];
  /** Medians over the rounds, except `max` (the largest of all). */
  readonly emittedRate: number;
  readonly meanBatch: number;
  readonly cpuShare: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** The lowest and highest p99 of the rounds: one stall (a GC, a busy neighbour) moves a round's p99. */
  readonly p99Range: readonly [number, number];
  readonly max: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

function summarize(config: Config, runs: readonly Run[]): Summary {
  const rps = runs.map((r) => r.records / r.seconds);
  return {
    id: config.id,
    label: config.label,
    kind: config.kind,
    ...(config.executor === undefined ? {} : { executor: config.executor }),
    batchSize: config.batchSize,
    runs,
    recordsPerSecond: { median: median(rps), min: Math.min(...rps), max: Math.max(...rps) },
    rowsPerSecond: median(runs.map((r) => r.rows / r.seconds)),
    recordsPerCpuSecond: median(runs.map((r) => r.records / r.cpuSeconds)),
    meanBatch: median(runs.map((r) => r.meanBatch ?? r.records / r.calls)),
    msPerCall: median(runs.map((r) => r.msPerCall ?? (1000 * r.seconds) / r.calls)),
  };
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–';
const si = (n: number): string => (!Number.isFinite(n) ? '–' : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
const ratio = (r: number | undefined): string => (r === undefined ? '' : `${r.toFixed(3)}×`);
/** ms with three significant digits or so. */
const ms = (n: number): string => (!Number.isFinite(n) ? '–' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function render(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const throughputCells = (s: Summary): string[] => [
  fmt(s.recordsPerSecond.median),
  `${si(s.recordsPerSecond.min)}–${si(s.recordsPerSecond.max)}`,
  si(s.rowsPerSecond),
  si(s.recordsPerCpuSecond),
  fmt(s.meanBatch, 1),
  fmt(s.msPerCall, 3),
];

/** Table 1: raw onnxruntime and the ONNX pipeline. */
function table(summaries: readonly Summary[]): string {
  const header = ['configuration', 'records/s', 'min–max', 'rows/s', 'rec/CPU-s', 'recs/call', 'ms/call', 'vs raw ORT', 'per CPU-s'];
  return render(
    header,
    summaries.map((s) => [s.label, ...throughputCells(s), ratio(s.vsRawOrt), ratio(s.vsRawOrtPerCpu)]),
  );
}

/** Table 2: per executor, raw infer and pipeline at batch 1 and 512. */
function executorTable(summaries: readonly Summary[]): string {
  const header = ['executor / configuration', 'records/s', 'min–max', 'rows/s', 'rec/CPU-s', 'recs/call', 'ms/call', 'pipe/raw', 'per CPU-s'];
  const rows: string[][] = [];
  for (const executor of executorIds) {
    for (const id of executorRowIds(executor)) {
      const s = summaries.find((x) => x.id === id);
      if (!s) continue;
      const what = s.kind === 'infer' ? `raw infer, batch ${s.batchSize}` : `pipeline, batch-size ${s.batchSize}${s.batchSize === 512 ? ' (adaptive)' : ''}`;
      rows.push([`${executorLabels[executor]} ${what}`, ...throughputCells(s), ratio(s.vsRawInfer), ratio(s.vsRawInferPerCpu)]);
    }
  }
  return render(header, rows);
}

/** Table 3: latency at half the sustainable rate. */
function latencyTable(latencies: readonly LatencySummary[]): string {
  const header = ['executor', 'sustainable rec/s', 'rate (50%)', 'emitted rec/s', 'recs/call', 'CPU', 'p50 ms', 'p90 ms', 'p99 ms', 'p99 min–max', 'max ms'];
  return render(
    header,
    latencies.map((l) => [
      executorLabels[l.executor],
      fmt(l.sustainable),
      fmt(l.targetRate),
      fmt(l.emittedRate),
      fmt(l.meanBatch, 1),
      `${(l.cpuShare * 100).toFixed(0)}%`,
      ms(l.p50),
      ms(l.p90),
      ms(l.p99),
      `${ms(l.p99Range[0])}–${ms(l.p99Range[1])}`,
      ms(l.max),
    ]),
  );
}

/** A digest of the code measured (src/, examples/ and bench/ sources): other work changes src/ between runs. */
function sourceDigest(): string {
  const root = packageRoot();
  const hash = createHash('sha256');
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'results' || entry.name === 'node_modules' ? [] : walk(path);
      return entry.name.endsWith('.ts') || entry.name.endsWith('.conf') ? [path] : [];
    });
  for (const file of ['src', 'examples', 'bench'].flatMap((d) => walk(join(root, d))).sort()) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}

function machine() {
  const require = createRequire(import.meta.url);
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    onnxruntime: version('onnxruntime-node'),
    tfjs: version('@tensorflow/tfjs'),
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    sourceDigest: sourceDigest(),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const selected = (c: Config) =>
    !args.only || args.only.includes(c.kind) || args.only.includes(c.id) || (c.executor !== undefined && args.only.includes(c.executor));
  const chosen = configs(args.quick).filter(selected);
  if (chosen.length === 0) {
    console.error(
      `--only matches nothing (kinds: raw, infer, pipeline, latency; executors: ${executorIds.join(', ')}; ids: ${configs(false)
        .map((c) => c.id)
        .join(', ')})`,
    );
    process.exit(2);
  }
  const all = chosen.filter((c) => c.kind !== 'latency');
  const latencyConfigs = chosen.filter((c) => c.kind === 'latency');
  const started = new Date();
  const box = machine();
  console.log(
    `sluice bench${args.quick ? ' (quick)' : ''}: ${box.cpus} cpus (${box.cpuModel}), node ${box.node}, onnxruntime-node ${box.onnxruntime}, ` +
      `tfjs ${box.tfjs}, load ${box.loadavg.join(' ')}, sources ${box.sourceDigest}`,
  );

  const model = await prepareModel();
  // The model of each executor that a row needs (ONNX: recommender-a, the same as `model`).
  const needed = new Set(chosen.flatMap((c) => (c.executor === undefined ? [] : [c.executor])));
  const descriptors = new Map<ExecutorId, ModelDescriptor>();
  for (const executor of executorIds) if (needed.has(executor)) descriptors.set(executor, await executorModel(executor, model));
  const descriptorOf = (c: Config): ModelDescriptor => (c.executor === undefined ? model.descriptor : (descriptors.get(c.executor) as ModelDescriptor));
  // Raw onnxruntime and the raw executors cycle through the batches of the stream's first POOL
  // records. The tensors are built before each raw run and dropped after it, so the pipeline
  // runs do not carry tens of MB of the bench's own tensors through every garbage collection.
  let pool: RecommenderRecord[] = recommenderRecords(POOL);
  let session = all.some((c) => c.kind === 'raw') ? await openSession(model.bytes) : undefined;
  // Each executor's model is loaded once, by the executor, and kept for all rounds.
  const loaded = new Map<ExecutorId, LoadedModel>();
  const runs = new Map<string, Run[]>(all.map((c) => [c.id, []]));
  const latencyRuns = new Map<string, LatencyMeasurement[]>(latencyConfigs.map((c) => [c.id, []]));
  const sustainable = new Map<ExecutorId, { rate: number; from: string }>();
  // What only the raw rows need; released before the latency runs, whose tails are major garbage
  // collections, which take longer the more the heap holds.
  const releaseRaw = async (): Promise<void> => {
    pool = [];
    await session?.release();
    session = undefined;
    for (const loadedModel of loaded.values()) await loadedModel.unload();
    loaded.clear();
  };

  const pipelineRun = (config: Config): Promise<PipelineMeasurement> =>
    measurePipeline({
      batchSize: config.batchSize,
      records: config.records,
      warmup: Math.ceil(config.records * WARMUP_SHARE),
      model: descriptorOf(config),
      modelsDirectory: model.modelsDirectory,
      overrides: config.overrides ?? [],
    });

  try {
    for (const c of all) {
      if (c.kind === 'infer' && c.executor !== undefined && !loaded.has(c.executor)) loaded.set(c.executor, await loadModel(descriptorOf(c)));
    }
    // Rounds interleave every configuration, so a slow spell of the shared machine hits all of them alike.
    for (let round = 1; round <= args.rounds; round++) {
      for (const config of all) {
        const warmup = Math.ceil(config.records * WARMUP_SHARE);
        collectGarbage();
        let run: Run;
        if (config.kind === 'raw') {
          if (!session) throw new Error('no session');
          run = await measureRawOrt(session, batchesOf(pool, config.batchSize), warmup, config.records);
        } else if (config.kind === 'infer') {
          const loadedModel = config.executor === undefined ? undefined : loaded.get(config.executor);
          if (!loadedModel) throw new Error(`no model loaded for ${config.id}`);
          run = await measureInfer(loadedModel, inferBatchesOf(pool, config.batchSize), warmup, config.records);
        } else {
          run = await pipelineRun(config);
        }
        runs.get(config.id)?.push(run);
        console.log(
          `  round ${round}/${args.rounds}  ${config.label.padEnd(42)} ${fmt(run.records / run.seconds).padStart(11)} records/s` +
            `  (${fmt(run.records)} records in ${run.seconds.toFixed(2)} s)`,
        );
      }
    }

    await releaseRaw();
    // Latency at half the sustainable rate: the adaptive pipeline's median records/s from the
    // rounds above, or (when that row was not selected) from one calibration run now.
    for (const config of latencyConfigs) {
      const executor = config.executor as ExecutorId;
      const id = adaptiveId(executor);
      const measured = runs.get(id);
      if (measured && measured.length > 0) {
        sustainable.set(executor, { rate: median(measured.map((r) => r.records / r.seconds)), from: `${id}, median of ${measured.length}` });
      } else {
        const calibration = configs(args.quick).find((c) => c.id === id) as Config;
        collectGarbage();
        const run = await pipelineRun(calibration);
        sustainable.set(executor, { rate: run.records / run.seconds, from: `${id}, one calibration run` });
        console.log(`  calibration   ${calibration.label.padEnd(42)} ${fmt(run.records / run.seconds).padStart(11)} records/s`);
      }
    }
    for (let round = 1; round <= args.rounds; round++) {
      for (const config of latencyConfigs) {
        const executor = config.executor as ExecutorId;
        const rate = Math.round(LATENCY_LOAD * (sustainable.get(executor)?.rate ?? Number.NaN));
        const records = Math.round(rate * (config.seconds ?? 1));
        collectGarbage();
        const run = await measureLatency({
          model: descriptorOf(config),
          modelsDirectory: model.modelsDirectory,
          rate,
          records,
          warmup: Math.ceil(records * WARMUP_SHARE),
        });
        latencyRuns.get(config.id)?.push(run);
        console.log(
          `  round ${round}/${args.rounds}  ${config.label.padEnd(42)} ${fmt(run.emittedRate).padStart(11)} records/s` +
            `  p50 ${ms(run.p50)} ms, p99 ${ms(run.p99)} ms, max ${ms(run.max)} ms, ${fmt(run.meanBatch, 1)} recs/call`,
        );
      }
    }
  } finally {
    await releaseRaw();
    await model.cleanup();
  }

  const base = all.map((c) => summarize(c, runs.get(c.id) ?? []));
  const rawAt = (batch: number) => base.find((s) => s.kind === 'raw' && s.batchSize === batch);
  const inferAt = (executor: ExecutorId | undefined, batch: number) => base.find((s) => s.kind === 'infer' && s.executor === executor && s.batchSize === batch);
  const summaries: Summary[] = base.map((s) => {
    if (s.kind !== 'pipeline') return s;
    const raw = rawAt(s.batchSize);
    const infer = s.executor === undefined ? undefined : inferAt(s.executor, s.batchSize);
    return {
      ...s,
      ...(raw === undefined || s.executor === 'tfjs' || s.executor === 'pmml'
        ? {}
        : { vsRawOrt: s.recordsPerSecond.median / raw.recordsPerSecond.median, vsRawOrtPerCpu: s.recordsPerCpuSecond / raw.recordsPerCpuSecond }),
      ...(infer === undefined
        ? {}
        : { vsRawInfer: s.recordsPerSecond.median / infer.recordsPerSecond.median, vsRawInferPerCpu: s.recordsPerCpuSecond / infer.recordsPerCpuSecond }),
    };
  });
  const latencies: LatencySummary[] = latencyConfigs.map((c) => {
    const executor = c.executor as ExecutorId;
    const measured = latencyRuns.get(c.id) ?? [];
    const from = sustainable.get(executor);
    return {
      id: c.id,
      label: c.label,
      executor,
      sustainable: from?.rate ?? Number.NaN,
      sustainableFrom: from?.from ?? '',
      targetRate: measured[0]?.targetRate ?? Number.NaN,
      runs: measured,
      emittedRate: median(measured.map((r) => r.emittedRate)),
      meanBatch: median(measured.map((r) => r.meanBatch)),
      cpuShare: median(measured.map((r) => r.cpuShare)),
      p50: median(measured.map((r) => r.p50)),
      p90: median(measured.map((r) => r.p90)),
      p99: median(measured.map((r) => r.p99)),
      p99Range: [Math.min(...measured.map((r) => r.p99)), Math.max(...measured.map((r) => r.p99))],
      max: Math.max(...measured.map((r) => r.max)),
    };
  });

  const ortTable = summaries.filter((s) => s.kind === 'raw' || (s.kind === 'pipeline' && s.executor !== 'tfjs' && s.executor !== 'pmml'));
  if (ortTable.length > 0) {
    console.log('');
    console.log('raw onnxruntime and the ONNX pipeline (recommender-a):');
    console.log(table(ortTable));
  }
  if (summaries.some((s) => s.kind === 'infer' || s.executor === 'tfjs' || s.executor === 'pmml')) {
    console.log('');
    console.log('per executor: the model raw through its executor (load + infer), and the pipeline serving it:');
    console.log(executorTable(summaries));
  }
  if (latencies.length > 0) {
    console.log('');
    console.log(
      `per-record latency, emission → sink, at ${LATENCY_LOAD * 100}% of the adaptive pipeline's records/s (median of ${args.rounds} rounds; max: of all):`,
    );
    console.log(latencyTable(latencies));
  }

  const pipe512 = summaries.find((s) => s.id === 'pipeline-512');
  const pipe1 = summaries.find((s) => s.id === 'pipeline-1');
  const noMetrics = summaries.find((s) => s.id === 'pipeline-512-no-metrics');
  const audited = summaries.find((s) => s.id === 'pipeline-512-audit');
  // Costs as the share of throughput lost, by records per CPU-second (the steadier measure).
  const cost = (withIt: Summary | undefined, without: Summary | undefined) =>
    withIt && without ? 1 - withIt.recordsPerCpuSecond / without.recordsPerCpuSecond : undefined;
  const metricsCost = cost(pipe512, noMetrics);
  const auditCost = cost(audited, pipe512);
  const aims = pipe512
    ? {
        'pipeline >= 0.5x raw onnxruntime (batch 512)': { value: pipe512.vsRawOrt ?? Number.NaN, met: (pipe512.vsRawOrt ?? 0) >= 0.5 },
        'pipeline > 100,000 records/s (batch-size 512)': { value: pipe512.recordsPerSecond.median, met: pipe512.recordsPerSecond.median > 100_000 },
        ...(metricsCost === undefined ? {} : { 'cost of metrics (share of records/CPU-s lost), aim < 5%': { value: metricsCost, met: metricsCost < 0.05 } }),
        ...(auditCost === undefined ? {} : { 'cost of a 1% audit log on top (share lost), aim < 5%': { value: auditCost, met: auditCost < 0.05 } }),
        ...(pipe1
          ? {
              'batching gain: batch-size 512 over the reference design (batch-size 1)': {
                value: pipe512.recordsPerSecond.median / pipe1.recordsPerSecond.median,
              },
            }
          : {}),
      }
    : {};
  if (pipe512) {
    console.log('');
    console.log('aims (issue):');
    for (const [name, aim] of Object.entries(aims) as [string, { value: number; met?: boolean }][]) {
      const value = name.includes('records/s')
        ? `${fmt(aim.value)} records/s`
        : name.startsWith('cost')
          ? `${(aim.value * 100).toFixed(1)}%`
          : `${aim.value.toFixed(3)}×`;
      const verdict = aim.met === undefined ? '' : aim.met ? 'MET' : 'NOT MET';
      console.log(`  ${name.padEnd(72)} ${value.padStart(18)}  ${verdict}`);
    }
  }
  console.log('');
  console.log('records/s: median over the rounds (min–max beside it); rows/s: (user, product) pairs scored; rec/CPU-s: records per');
  console.log('CPU-second of the whole process; recs/call: records per model call; ms/call: raw, one onnxruntime run() or executor');
  console.log("infer(); pipeline, model-serving's reported duration (adapter + executor + the event-loop wait inside it, so not CPU in");
  console.log('the model); vs raw ORT: pipeline over raw onnxruntime at the same batch size, by records/s and (per CPU-s) by records');
  console.log("per CPU-second; pipe/raw: the same against the executor's own raw infer. Latency: from the moment the paced ingress");
  console.log('emits a record to the arrival of its result at the sink, measured records only (the first 25% are a warm-up);');
  console.log('CPU: process CPU over wall time in the window (100% = one core).');

  if (args.json) {
    await mkdir(dirname(args.json), { recursive: true });
    const result = {
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: box,
      quick: args.quick,
      rounds: args.rounds,
      warmupShare: WARMUP_SHARE,
      model: model.descriptor.modelName,
      models: Object.fromEntries([...descriptors].map(([executor, d]) => [executor, { modelName: d.modelName, modelType: d.modelType }])),
      results: summaries,
      latency: latencies,
      aims,
    };
    await writeFile(args.json, `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    console.log(`\nresults written to ${args.json}`);
  }
}

await main();
