/**
 * The bench's plots, as Vega-Lite specs rendered to SVG headless (vega's `renderer: 'none'`,
 * no browser, no canvas): latency against input rate from the stepping, latency CDFs at the
 * fractions of the sustainable rate, throughput against batch size, and throughput against
 * replicas when a runtime suite measured them.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { ConfigurationResult } from '../measure.js';

export interface ReplicaPoint {
  readonly series: string;
  readonly replicas: number;
  readonly recordsPerSecond: number;
}

export interface Plot {
  /** File name in the plot directory, e.g. `latency-vs-rate.svg`. */
  readonly file: string;
  readonly title: string;
}

const width = 560;
const height = 300;

async function render(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function latencyVsRate(results: readonly ConfigurationResult[]): vl.TopLevelSpec | undefined {
  const values = results.flatMap((r) =>
    (r.stepping?.steps ?? []).flatMap((step) =>
      (['p50', 'p99'] as const).map((q) => ({
        configuration: r.id,
        rate: step.rate,
        quantile: q,
        latency: Math.max(step.latency[q], 0.01),
        step: step.sustained ? 'sustained' : 'not sustained',
      })),
    ),
  );
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Latency (creation → sink) against input rate, stepping up to the sustainable rate',
    width,
    height,
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 40 } },
    encoding: {
      x: { field: 'rate', type: 'quantitative', scale: { type: 'log' }, title: 'input rate (records/s)' },
      y: { field: 'latency', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms)' },
      color: { field: 'configuration', type: 'nominal' },
      strokeDash: { field: 'quantile', type: 'nominal' },
      shape: { field: 'step', type: 'nominal', scale: { domain: ['sustained', 'not sustained'], range: ['circle', 'cross'] } },
      detail: { field: 'quantile' },
    },
  };
}

function latencyCdfs(results: readonly ConfigurationResult[]): vl.TopLevelSpec | undefined {
  const values = results.flatMap((r) =>
    (r.latency ?? []).flatMap((point) =>
      point.cdf.map((c) => ({
        configuration: r.id,
        load: `${Math.round(point.fraction * 100)}% of sustainable`,
        latency: Math.max(c.latency, 0.01),
        share: c.share,
      })),
    ),
  );
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Latency CDFs at fractions of the sustainable rate',
    data: { values },
    facet: { field: 'configuration', type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 260,
      height: 180,
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'latency', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms)' },
        y: { field: 'share', type: 'quantitative', title: 'share of records at or below', scale: { domain: [0, 1] } },
        color: { field: 'load', type: 'nominal', title: 'input rate' },
      },
    },
    resolve: { scale: { x: 'independent' } },
  };
}

function throughputVsBatchSize(results: readonly ConfigurationResult[]): vl.TopLevelSpec | undefined {
  const order = ['1', '8', '64', '512', 'adaptive'];
  const values = results.flatMap((r) => [
    ...(r.sweep ?? []).map((p) => ({ configuration: r.id, batch: p.batching, series: 'pipeline', recordsPerSecond: p.pipeline.median })),
    ...Object.entries(r.raw?.byBatch ?? {}).map(([batch, s]) => ({ configuration: r.id, batch, series: 'raw model', recordsPerSecond: s.median })),
  ]);
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Throughput against batch size: the pipeline flat out beside the raw model call',
    width,
    height,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'batch', type: 'ordinal', sort: order, title: 'batch size (adaptive: whatever is waiting, up to 512)', axis: { labelAngle: 0 } },
      y: { field: 'recordsPerSecond', type: 'quantitative', scale: { type: 'log' }, title: 'records/s' },
      color: { field: 'configuration', type: 'nominal' },
      strokeDash: { field: 'series', type: 'nominal', title: null },
      detail: { field: 'series' },
    },
  };
}

function throughputVsReplicas(points: readonly ReplicaPoint[]): vl.TopLevelSpec | undefined {
  if (points.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Throughput against replicas (JetStream runtime)',
    width,
    height,
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'replicas', type: 'ordinal', title: 'model-serving replicas (processes)', axis: { labelAngle: 0 } },
      y: { field: 'recordsPerSecond', type: 'quantitative', title: 'records/s', scale: { zero: true } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
    },
  };
}

/** Renders every plot there is data for into `directory`, and says which. */
export async function writePlots(directory: string, results: readonly ConfigurationResult[], replicas: readonly ReplicaPoint[]): Promise<Plot[]> {
  const plots: [string, string, vl.TopLevelSpec | undefined][] = [
    ['latency-vs-rate.svg', 'Latency against input rate', latencyVsRate(results)],
    ['latency-cdf.svg', 'Latency CDFs at 25–90% of the sustainable rate', latencyCdfs(results)],
    ['throughput-vs-batch-size.svg', 'Throughput against batch size', throughputVsBatchSize(results)],
    ['throughput-vs-replicas.svg', 'Throughput against replicas', throughputVsReplicas(replicas)],
  ];
  await mkdir(directory, { recursive: true });
  const written: Plot[] = [];
  for (const [file, title, spec] of plots) {
    // A plot this run has no data for goes, rather than stay beside the new ones from an older run.
    if (!spec) await rm(join(directory, file), { force: true });
    else {
      await writeFile(join(directory, file), await render(spec));
      written.push({ file, title });
    }
  }
  return written;
}
