/**
 * The Sluice pipeline, in-process, through the public API: DataIngress (as fast as
 * backpressure allows) → ModelServing → the bench's counting sink, on the local runtime.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runApplication } from '../src/app.js';
import type { ModelDescriptor } from '../src/serving/descriptor.js';
import { ModelStateStore } from '../src/serving/model-state.js';
import { packageRoot } from '../src/util/package-root.js';
import type { Measurement } from './raw-ort.js';
import { rowsOfRange } from './records.js';
import { countingEgress, createProbe, Discard } from './streamlets.js';

// From the package root, so that the bench also runs compiled (bench/profile.ts).
export const BLUEPRINT = join(packageRoot(), 'bench', 'pipeline.conf');

export interface PipelineOptions {
  /** `model-serving.batch-size`. */
  readonly batchSize: number;
  /** Records timed, after the warm-up. */
  readonly records: number;
  /** Scored records discarded before timing starts. */
  readonly warmup: number;
  /**
   * The model to serve. It is persisted in model-serving's volume before the start, so it is
   * restored and serves the very first record (see `measurePipeline`).
   */
  readonly model: ModelDescriptor;
  /** A folder of models for the model ingress (which stays quiet during the run). */
  readonly modelsDirectory: string;
  /** Called (synchronously, from the sink) when the timed window starts and ends: e.g. to profile just the window. */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
  /** More `key=value` settings for this run. */
  readonly overrides?: readonly string[];
  /** Gives up after this long (ms). */
  readonly timeoutMs?: number;
}

/** What `/state` of model-serving says (the fields the bench reads). */
interface ServingState {
  readonly usage: number;
  readonly calls: number;
  /** Total ms in `ModelSlot.scoreWith` model calls (adapter + executor + onnxruntime). */
  readonly duration: number;
  readonly recordsWithoutModel: number;
}

export interface PipelineMeasurement extends Measurement {
  /** Results counted before the model was installed (error `No model server defined`). */
  readonly withoutModel: number;
  /** Records per model call in the timed window (from `/state`). */
  readonly meanBatch: number;
  /**
   * Mean `duration` of a model call as model-serving reports it (`/state`, ModelResultMetadata),
   * in ms: wall time from tensors in to outputs out, which includes waiting for the event loop
   * inside onnxruntime-node's `run()` (it defers to setImmediate) while other streamlets run.
   */
  readonly msPerCall: number;
  /** Those durations summed over the window's wall time. */
  readonly servingDurationShare: number;
  /** V8 heap in use when the window ended (MB). */
  readonly heapUsedMB: number;
  /** From `runApplication` until the sink counted its first scored result (ms). */
  readonly firstScoredMs: number;
}

/**
 * Resolves once model-serving serves `modelName`: its `/state` is exposed after the persisted
 * model is restored, and names it. Polls every 5 ms.
 */
export async function modelServed(url: string, modelName: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${url}/model-serving/state`);
    if (response.ok && ((await response.json()) as { name?: unknown }).name === modelName) return;
    if (!response.ok) await response.body?.cancel();
    if (performance.now() > deadline) throw new Error(`model-serving did not serve ${modelName} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function measurePipeline(options: PipelineOptions): Promise<PipelineMeasurement> {
  const stateDirectory = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const total = options.records + options.warmup;
  const probe = createProbe(total, options.warmup);
  // The model is restored from the volume rather than published by the model ingress, so it
  // scores the very first record and no swap (which restarts the /state stats) falls near the
  // window. (Before src/util/fair-share.ts, a flat-out source also starved the event loop until
  // the data ended, so a published model never arrived; now it arrives after ~0.2 s.)
  const volume = join(stateDirectory, 'model-serving', 'models');
  await mkdir(volume, { recursive: true });
  await new ModelStateStore(volume).save(options.model);
  const startedAt = performance.now();
  const app = await runApplication({
    blueprint: BLUEPRINT,
    packages: { bench: { CountingEgress: countingEgress(probe), Discard } },
    logLevel: 'warn',
    overrides: [
      'sluice.http.port=0',
      `sluice.state-directory=${stateDirectory}`,
      'data-ingress.records-per-second=0',
      `data-ingress.max-records=${total}`,
      `model-ingress.models-directory=${options.modelsDirectory}`,
      // No update (and so no swap, which restarts the serving stats) before the stop.
      'model-ingress.initial-delay=1h',
      `model-serving.batch-size=${options.batchSize}`,
      ...(options.overrides ?? []),
    ],
  });
  const state = async (): Promise<ServingState> => (await (await fetch(`${app.url}/model-serving/state`)).json()) as ServingState;
  // Requests now, so loading the HTTP client does not fall into the timed window; and a slow
  // loader (TF.js imports itself on its first load) is in before the sink counts anything.
  await modelServed(app.url, options.model.modelName, options.timeoutMs ?? 120_000);
  let atStart: Promise<ServingState> | undefined;
  probe.onWindowStart = () => {
    options.onWindowStart?.();
    atStart = state();
  };
  if (options.onWindowEnd) probe.onWindowEnd = options.onWindowEnd;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const outcome = await Promise.race([
      probe.done.then(() => 'done' as const),
      app.finished.then((o) => (o.ok ? ('finished' as const) : Promise.reject(o.error))),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    if (outcome !== 'done') {
      throw new Error(`pipeline batch-size ${options.batchSize}: ${outcome} after ${probe.scored + probe.unscored} of ${total} results`);
    }
    const start = probe.windowStart;
    const end = probe.windowEnd;
    if (!start || !end || !atStart)
      throw new Error(
        `the timed window was not stamped: ${JSON.stringify({ scored: probe.scored, unscored: probe.unscored, start, end, hasState: atStart !== undefined })}`,
      );
    const [before, after] = await Promise.all([atStart, state()]);
    const seconds = (end.at - start.at) / 1000;
    const records = end.scored - start.scored;
    const cpu = (end.cpu.user - start.cpu.user + end.cpu.system - start.cpu.system) / 1e6;
    const calls = after.calls - before.calls;
    // Results arrive in generation order, the unscored ones first: the window is a slice of the generator's stream.
    const from = after.recordsWithoutModel + start.scored;
    return {
      records,
      rows: rowsOfRange(from, from + records),
      calls,
      seconds,
      cpuSeconds: cpu,
      withoutModel: after.recordsWithoutModel,
      meanBatch: calls > 0 ? (after.usage - before.usage) / calls : Number.NaN,
      msPerCall: calls > 0 ? (after.duration - before.duration) / calls : Number.NaN,
      servingDurationShare: (after.duration - before.duration) / 1000 / seconds,
      heapUsedMB: process.memoryUsage().heapUsed / 1e6,
      firstScoredMs: (probe.firstScoredAt ?? Number.NaN) - startedAt,
    };
  } finally {
    clearTimeout(timer);
    await app.stop();
    await rm(stateDirectory, { recursive: true, force: true });
  }
}
