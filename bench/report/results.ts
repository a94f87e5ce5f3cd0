/** The run's results as tables: the same for the terminal, bench/results/latest.md and docs/benchmarks.md. */
import { arrivalRate } from '../harness/stepping.js';
import { LATENCY_FRACTIONS, type ConfigurationResult } from '../measure.js';
import type { Machine } from './machine.js';
import type { Plot } from './plots.js';
import { fmt, markdownTable, ms, percent, ratio, si, type Table } from './table.js';

export interface RunResult {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly quick: boolean;
  readonly only?: readonly string[];
  readonly machine: Machine;
  /** Load averages when the run ended. */
  readonly loadavgAtEnd: readonly number[];
  readonly configurations: readonly ConfigurationResult[];
  readonly suites: readonly {
    readonly id: string;
    readonly label: string;
    readonly skipped?: string;
    readonly error?: string;
    readonly tables?: readonly Table[];
    readonly data?: unknown;
  }[];
}

const sweepPoint = (r: ConfigurationResult, batching: string) => r.sweep?.find((p) => p.batching === batching);
const rawAt = (r: ConfigurationResult, batch: number) => r.raw?.byBatch[String(batch)];
const at = (r: ConfigurationResult, fraction: number) => r.latency?.find((p) => p.fraction === fraction);
const over = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a / b : undefined);

/** One row per configuration: each figure beside its limit, measured in the same run. */
export function summaryTable(results: readonly ConfigurationResult[]): Table {
  return {
    title: 'Summary: each pipeline figure beside its limit, the raw model call on the same batches, measured in the same run:',
    header: [
      'configuration',
      'raw model, batch 512',
      'pipeline flat out (adaptive)',
      '× raw',
      'sustainable (stepped)',
      '× raw',
      'reference design (batch-size 1)',
      '× raw, batch 1',
      'batching gain',
      'p50 / p99 at 50%',
      'load',
    ],
    rows: results.map((r) => {
      const raw512 = rawAt(r, 512)?.median;
      const raw1 = rawAt(r, 1)?.median;
      const adaptive = sweepPoint(r, 'adaptive')?.pipeline.median;
      const reference = sweepPoint(r, '1')?.pipeline.median;
      const sustainable = r.stepping?.sustainable;
      const half = at(r, 0.5);
      return [
        r.id,
        fmt(raw512),
        fmt(adaptive),
        ratio(over(adaptive, raw512)),
        fmt(sustainable),
        ratio(over(sustainable, raw512)),
        fmt(reference),
        ratio(over(reference, raw1)),
        ratio(over(adaptive, reference)),
        half ? `${ms(half.latency.p50)} / ${ms(half.latency.p99)} ms` : '–',
        fmt(r.loadavg[0], 1),
      ];
    }),
    notes: [
      'records/s. raw model: onnxruntime InferenceSession.run (ONNX) or the executor’s infer (TF.js, PMML) on prebuilt tensors; flat out: as fast as',
      'backpressure lets the producer go; sustainable: the highest stepped input rate the pipeline kept up with; reference design: one model call per',
      'record; batching gain: adaptive flat out over the reference design; latency: creation (the producer’s schedule) → arrival at the sink;',
      'load: the machine’s 1-minute load average as the configuration started (2 = both cores busy).',
    ],
  };
}

export function sweepTable(results: readonly ConfigurationResult[]): Table {
  return {
    title: 'Batch-size sweep: the pipeline flat out at each batching, beside the raw model at that batch size (median of the rounds):',
    header: ['configuration', 'batching', 'raw rec/s', 'pipeline rec/s', 'min–max', 'rec/CPU-s', 'recs/call', 'ms/call', 'pipe/raw', 'per CPU-s'],
    rows: results.flatMap((r) =>
      (r.sweep ?? []).map((p) => [
        r.id,
        p.label,
        fmt(rawAt(r, p.batching === 'adaptive' ? 512 : p.batchSize)?.median),
        fmt(p.pipeline.median),
        `${si(p.pipeline.min)}–${si(p.pipeline.max)}`,
        si(p.pipeline.perCpuSecond),
        fmt(p.pipeline.meanBatch, 1),
        fmt(p.pipeline.msPerCall, 3),
        ratio(p.vsRaw),
        ratio(p.vsRawPerCpu),
      ]),
    ),
    notes: [
      'rec/CPU-s: records per CPU-second of the whole process; ms/call: model-serving’s reported duration per call (adapter + executor + the',
      'event-loop wait inside onnxruntime-node’s run); pipe/raw: pipeline over the raw model at the same batch size (adaptive: 512), by records/s',
      'and by records per CPU-second.',
    ],
  };
}

export function steppingTable(results: readonly ConfigurationResult[]): Table {
  return {
    title: 'Stepping: the input rate ×1.5 per step from a fifth of the adaptive flat-out rate, then bisected; a failed step is retried once:',
    header: ['configuration', 'step', 'input rec/s', 'emitted rec/s', 'arrivals / input', 'lag mid→end', 'p50 ms', 'p99 ms', 'recs/call', 'CPU', 'verdict'],
    rows: results.flatMap((r) =>
      (r.stepping?.steps ?? []).map((s, i) => [
        r.id,
        `${i + 1}${s.attempt > 1 ? ' (retry)' : ''}`,
        fmt(s.rate),
        fmt(s.emitted / s.seconds),
        percent(arrivalRate(s) / s.rate),
        `${fmt(s.lagMid)}→${fmt(s.lagEnd)}`,
        ms(s.latency.p50),
        ms(s.latency.p99),
        fmt(s.meanBatch, 1),
        percent(s.cpuShare),
        s.sustained ? 'sustained' : `no: ${s.reasons.join('; ')}`,
      ]),
    ),
    notes: [
      'arrivals / input: results per second over the step’s second half over the input rate. A step is not sustained when its lag (records',
      'created, not yet at the sink) ends above max(1,000, a tenth of a second of input) while results arrive at under 95% of the input rate, when',
      'its p99 passes 1 s, or when results are still missing a drain time after it.',
    ],
  };
}

export function latencyTable(results: readonly ConfigurationResult[]): Table {
  return {
    title: `Latency at ${LATENCY_FRACTIONS.map((f) => percent(f)).join(', ')} of the sustainable rate (creation → sink, after a 25% warm-up of each phase):`,
    header: ['configuration', 'load', 'input rec/s', 'emitted rec/s', 'recs/call', 'CPU', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
    rows: results.flatMap((r) =>
      (r.latency ?? []).map((p) => [
        r.id,
        percent(p.fraction),
        fmt(p.rate),
        fmt(p.emitted / p.seconds),
        fmt(p.meanBatch, 1),
        percent(p.cpuShare),
        ms(p.latency.p50),
        ms(p.latency.p95),
        ms(p.latency.p99),
        ms(p.latency.max) + (p.complete ? '' : ' (incomplete)'),
      ]),
    ),
  };
}

/** Every table of the run, the harness's first, then the suites'. */
export function allTables(run: RunResult): Table[] {
  const configurations = run.configurations;
  const tables: Table[] = [];
  if (configurations.length > 0) tables.push(summaryTable(configurations));
  if (configurations.some((r) => r.sweep)) tables.push(sweepTable(configurations));
  if (configurations.some((r) => r.stepping)) tables.push(steppingTable(configurations));
  if (configurations.some((r) => r.latency)) tables.push(latencyTable(configurations));
  for (const suite of run.suites) tables.push(...(suite.tables ?? []));
  return tables;
}

function duration(seconds: number): string {
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** The results as markdown: when, on what, every table, and the plots (paths relative to the document). */
export function resultsMarkdown(run: RunResult, plots: readonly Plot[], plotPath: (file: string) => string): string {
  const m = run.machine;
  const lines = [
    `Measured ${run.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} (${run.quick ? '`--quick`' : 'full run'}${run.only ? `, \`--only=${run.only.join(',')}\`` : ''}, ${duration(run.seconds)}),`,
    `commit \`${m.commit.slice(0, 12)}\`${m.uncommitted > 0 ? ` plus ${m.uncommitted} uncommitted files (other work in progress in the checkout)` : ''},`,
    `on ${m.cpus} vCPUs (${m.cpuModel}), ${m.memoryGB} GB, ${m.platform}, Node ${m.node}, onnxruntime-node ${m.onnxruntime}, @tensorflow/tfjs ${m.tfjs} (wasm).`,
    `Load average (1/5/15 min) ${m.loadavg.join(' / ')} at the start and ${run.loadavgAtEnd.join(' / ')} at the end: the machine is shared, so absolute`,
    'figures move from run to run; the ratios, measured side by side in the same minutes, are what count.',
    '',
  ];
  for (const table of allTables(run))
    lines.push(`**${table.title.replace(/:$/, '')}**`, '', markdownTable(table), '', ...(table.notes ? [table.notes.join(' '), ''] : []));
  for (const suite of run.suites.filter((s) => s.skipped !== undefined || s.error !== undefined)) {
    lines.push(`- ${suite.label}: ${suite.skipped !== undefined ? `not run (${suite.skipped})` : `failed: ${suite.error}`}`);
  }
  if (run.suites.some((s) => s.skipped !== undefined || s.error !== undefined)) lines.push('');
  for (const plot of plots) lines.push(`![${plot.title}](${plotPath(plot.file)})`, '');
  return lines.join('\n');
}
