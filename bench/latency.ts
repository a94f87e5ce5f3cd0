/**
 * Per-record latency at a set rate: the recommender pipeline of bench/latency.conf, fed by the
 * bench's paced ingress at `rate` records/s, each record's latency measured from its emission
 * (ingress) to its result's arrival at the sink. The model is restored from model-serving's
 * volume, and the ingress starts its clock only once the model serves, so no record waits for
 * a model to load.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runApplication } from '../src/app.js';
import type { ModelDescriptor } from '../src/serving/descriptor.js';
import { ModelStateStore } from '../src/serving/model-state.js';
import { packageRoot } from '../src/util/package-root.js';
import { modelServed } from './pipeline.js';
import { createLatencyProbe, Discard, latencyEgress, pacedIngress, type LatencyProbe } from './streamlets.js';

export const LATENCY_BLUEPRINT = join(packageRoot(), 'bench', 'latency.conf');

export interface LatencyOptions {
  readonly model: ModelDescriptor;
  readonly modelsDirectory: string;
  /** Records per second the ingress emits. */
  readonly rate: number;
  /** Records measured, after the warm-up. */
  readonly records: number;
  /** Records emitted and scored first, not measured. */
  readonly warmup: number;
  /** ms between the ingress's emissions (default 1). */
  readonly tickMs?: number;
  readonly overrides?: readonly string[];
  readonly timeoutMs?: number;
  /** Called with the probe (every record's emission and arrival) once the run is done: for a closer look. */
  readonly inspect?: (probe: LatencyProbe) => void;
}

export interface LatencyMeasurement {
  /** Records measured. */
  readonly records: number;
  /** The rate asked for, and the rate emitted over the measured records. */
  readonly targetRate: number;
  readonly emittedRate: number;
  /** Latency, emission to arrival at the sink, in ms. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  /** Records per model call in the window (model-serving's `/state`). */
  readonly meanBatch: number;
  /** Process CPU over wall time in the window (1 = one core busy). */
  readonly cpuShare: number;
  readonly seconds: number;
}

interface ServingState {
  readonly usage: number;
  readonly calls: number;
}

/** The nearest-rank `q` quantile of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export async function measureLatency(options: LatencyOptions): Promise<LatencyMeasurement> {
  if (!(options.rate > 0)) throw new Error(`latency: the rate must be positive, not ${options.rate}`);
  const stateDirectory = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const total = options.records + options.warmup;
  const probe = createLatencyProbe(total, options.warmup);
  const volume = join(stateDirectory, 'model-serving', 'models');
  await mkdir(volume, { recursive: true });
  await new ModelStateStore(volume).save(options.model);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const app = await runApplication({
    blueprint: LATENCY_BLUEPRINT,
    packages: { bench: { PacedIngress: pacedIngress(probe), LatencyEgress: latencyEgress(probe), Discard } },
    logLevel: 'warn',
    overrides: [
      'sluice.http.port=0',
      `sluice.state-directory=${stateDirectory}`,
      `data-ingress.records-per-second=${options.rate}`,
      `data-ingress.max-records=${total}`,
      `data-ingress.tick=${options.tickMs ?? 1}`,
      `model-ingress.models-directory=${options.modelsDirectory}`,
      'model-ingress.initial-delay=1h',
      ...(options.overrides ?? []),
    ],
  });
  const state = async (): Promise<ServingState> => (await (await fetch(`${app.url}/model-serving/state`)).json()) as ServingState;
  let atStart: Promise<ServingState> | undefined;
  probe.onWindowStart = () => {
    atStart = state();
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await modelServed(app.url, options.model.modelName, timeoutMs);
    probe.open();
    const outcome = await Promise.race([
      probe.done.then(() => 'done' as const),
      app.finished.then((o) => (o.ok ? ('finished' as const) : Promise.reject(o.error))),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    if (outcome !== 'done') throw new Error(`latency at ${options.rate} records/s: ${outcome} after ${probe.arrived} of ${total} results`);
    const start = probe.windowStart;
    const end = probe.windowEnd;
    if (!start || !end || !atStart) throw new Error('latency: the window was not stamped');
    if (probe.mismatches > 0) throw new Error(`latency: ${probe.mismatches} results arrived out of emission order; the pairing by position does not hold`);
    if (probe.unscored > 0) throw new Error(`latency: ${probe.unscored} results were not scored`);
    const [before, after] = await Promise.all([atStart, state()]);
    options.inspect?.(probe);

    const latencies = new Float64Array(total - options.warmup);
    let sum = 0;
    for (let k = options.warmup; k < total; k++) {
      const latency = (probe.arrivedAt[k] as number) - (probe.emittedAt[k] as number);
      latencies[k - options.warmup] = latency;
      sum += latency;
    }
    latencies.sort();
    const first = probe.emittedAt[options.warmup] as number;
    const last = probe.emittedAt[total - 1] as number;
    const seconds = (end.at - start.at) / 1000;
    const calls = after.calls - before.calls;
    return {
      records: latencies.length,
      targetRate: options.rate,
      emittedRate: last > first ? (total - 1 - options.warmup) / ((last - first) / 1000) : Number.NaN,
      p50: quantile(latencies, 0.5),
      p90: quantile(latencies, 0.9),
      p99: quantile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? Number.NaN,
      mean: sum / latencies.length,
      meanBatch: calls > 0 ? (after.usage - before.usage) / calls : Number.NaN,
      cpuShare: (end.cpu.user - start.cpu.user + end.cpu.system - start.cpu.system) / 1e6 / seconds,
      seconds,
    };
  } finally {
    clearTimeout(timer);
    await app.stop();
    await rm(stateDirectory, { recursive: true, force: true });
  }
}
