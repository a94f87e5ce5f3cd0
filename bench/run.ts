/**
 * `npm run bench`: the recommender pipeline on the local runtime, against the limits measured
 * in the same run. Absolute numbers on shared 2-core machines are noisy; the ratios, measured
 * side by side and interleaved round by round, are what count (DESIGN.md, "Performance").
 *
 *   npx tsx bench/run.ts [--quick] [--rounds=N] [--only=raw|pipeline|<id>,...] [--json=PATH|--no-json]
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { packageRoot } from '../src/util/package-root.js';
import { prepareModel } from './model.js';
import { measurePipeline, type PipelineMeasurement } from './pipeline.js';
import { batchesOf, measureRawOrt, openSession, type Measurement } from './raw-ort.js';
import { recommenderRecords } from './records.js';

interface Args {
  readonly quick: boolean;
  readonly rounds: number;
  /** Kinds (`raw`, `pipeline`) or configuration ids (`pipeline-512`) to run; all when undefined. */
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
      console.log('usage: npx tsx bench/run.ts [--quick] [--rounds=N] [--only=raw|pipeline|<id>,...] [--json=PATH|--no-json]');
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
  readonly kind: 'raw' | 'pipeline';
  readonly batchSize: number;
  readonly records: number;
  /** Extra `key=value` settings of a pipeline run. */
  readonly overrides?: readonly string[];
}

const WARMUP_SHARE = 0.25;
/** Records of the stream whose batches raw onnxruntime cycles through. */
const POOL = 65_536;

function configs(quick: boolean): Config[] {
  const n = (full: number) => (quick ? Math.round(full / 5) : full);
  return [
    { id: 'raw-1', label: 'raw onnxruntime, batch 1', kind: 'raw', batchSize: 1, records: n(50_000) },
    { id: 'raw-64', label: 'raw onnxruntime, batch 64', kind: 'raw', batchSize: 64, records: n(1_000_000) },
    { id: 'raw-512', label: 'raw onnxruntime, batch 512', kind: 'raw', batchSize: 512, records: n(2_000_000) },
    { id: 'pipeline-512', label: 'pipeline, batch-size 512', kind: 'pipeline', batchSize: 512, records: n(300_000) },
    { id: 'pipeline-64', label: 'pipeline, batch-size 64', kind: 'pipeline', batchSize: 64, records: n(200_000) },
    { id: 'pipeline-1', label: 'pipeline, batch-size 1 (reference design)', kind: 'pipeline', batchSize: 1, records: n(30_000) },
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
  ];
}

type Run = Measurement & Partial<Omit<PipelineMeasurement, keyof Measurement>>;

interface Summary {
  readonly id: string;
  readonly label: string;
  readonly kind: Config['kind'];
  readonly batchSize: number;
  readonly runs: readonly Run[];
  /** Median over rounds of records/s; min and max beside it. */
  readonly recordsPerSecond: { readonly median: number; readonly min: number; readonly max: number };
  readonly rowsPerSecond: number;
  /** Records per CPU-second (all threads of the process), median. */
  readonly recordsPerCpuSecond: number;
  readonly meanBatch: number;
  /** ms per model call: raw, onnxruntime's run; pipeline, model-serving's reported duration. */
  readonly msPerCall: number;
  /** Median records/s over raw onnxruntime's median at the same batch size. */
  readonly vsRawOrt?: number;
  /** The same ratio for records per CPU-second (less sensitive to other load on the machine). */
  readonly vsRawOrtPerCpu?: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

function summarize(config: Config, runs: readonly Run[]): Omit<Summary, 'vsRawOrt'> {
  const rps = runs.map((r) => r.records / r.seconds);
  return {
    id: config.id,
    label: config.label,
    kind: config.kind,
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

function table(summaries: readonly Summary[]): string {
  const header = ['configuration', 'records/s', 'min–max', 'rows/s', 'rec/CPU-s', 'recs/call', 'ms/call', 'vs raw ORT', 'per CPU-s'];
  const rows = summaries.map((s) => [
    s.label,
    fmt(s.recordsPerSecond.median),
    `${si(s.recordsPerSecond.min)}–${si(s.recordsPerSecond.max)}`,
    si(s.rowsPerSecond),
    si(s.recordsPerCpuSecond),
    fmt(s.meanBatch, 1),
    fmt(s.msPerCall, 3),
    s.vsRawOrt === undefined ? '' : `${s.vsRawOrt.toFixed(3)}×`,
    s.vsRawOrtPerCpu === undefined ? '' : `${s.vsRawOrtPerCpu.toFixed(3)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
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
  const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    onnxruntime: ortVersion,
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    sourceDigest: sourceDigest(),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const all = configs(args.quick).filter((c) => !args.only || args.only.includes(c.kind) || args.only.includes(c.id));
  if (all.length === 0) {
    console.error(
      `--only matches nothing (ids: ${configs(false)
        .map((c) => c.id)
        .join(', ')})`,
    );
    process.exit(2);
  }
  const started = new Date();
  const box = machine();
  console.log(
    `sluice bench${args.quick ? ' (quick)' : ''}: ${box.cpus} cpus (${box.cpuModel}), node ${box.node}, onnxruntime-node ${box.onnxruntime}, load ${box.loadavg.join(' ')}, sources ${box.sourceDigest}`,
  );

  const model = await prepareModel();
  // Raw onnxruntime cycles through the batches of the stream's first POOL records.
  const pool = recommenderRecords(POOL);
  const session = all.some((c) => c.kind === 'raw') ? await openSession(model.bytes) : undefined;
  const rawBatches = new Map(all.filter((c) => c.kind === 'raw').map((c) => [c.batchSize, batchesOf(pool, c.batchSize)]));
  const runs = new Map<string, Run[]>(all.map((c) => [c.id, []]));

  try {
    // Rounds interleave every configuration, so a slow spell of the shared machine hits all of them alike.
    for (let round = 1; round <= args.rounds; round++) {
      for (const config of all) {
        const warmup = Math.ceil(config.records * WARMUP_SHARE);
        let run: Run;
        if (config.kind === 'raw') {
          if (!session) throw new Error('no session');
          run = await measureRawOrt(session, rawBatches.get(config.batchSize) ?? [], warmup, config.records);
        } else {
          run = await measurePipeline({
            batchSize: config.batchSize,
            records: config.records,
            warmup,
            model: model.descriptor,
            modelsDirectory: model.modelsDirectory,
            overrides: config.overrides ?? [],
          });
        }
        runs.get(config.id)?.push(run);
        console.log(
          `  round ${round}/${args.rounds}  ${config.label.padEnd(42)} ${fmt(run.records / run.seconds).padStart(11)} records/s` +
            `  (${fmt(run.records)} records in ${run.seconds.toFixed(2)} s)`,
        );
      }
    }
  } finally {
    await session?.release();
    await model.cleanup();
  }

  const base = all.map((c) => summarize(c, runs.get(c.id) ?? []));
  const rawAt = (batch: number) => base.find((s) => s.kind === 'raw' && s.batchSize === batch);
  const summaries: Summary[] = base.map((s) => {
    const raw = rawAt(s.batchSize);
    return s.kind === 'pipeline' && raw !== undefined
      ? { ...s, vsRawOrt: s.recordsPerSecond.median / raw.recordsPerSecond.median, vsRawOrtPerCpu: s.recordsPerCpuSecond / raw.recordsPerCpuSecond }
      : s;
  });

  console.log('');
  console.log(table(summaries));

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
  console.log('CPU-second of the whole process; recs/call: records per model call; ms/call: raw, one onnxruntime run(); pipeline,');
  console.log("model-serving's reported duration (adapter + run() + the event-loop wait inside run(), so not CPU in the model);");
  console.log('vs raw ORT: pipeline over raw onnxruntime at the same batch size, by records/s and (per CPU-s) by records per CPU-second.');

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
      results: summaries,
      aims,
    };
    await writeFile(args.json, `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    console.log(`\nresults written to ${args.json}`);
  }
}

await main();
