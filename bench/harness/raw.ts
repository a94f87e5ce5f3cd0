/**
 * The limit each pipeline figure is set against: the model called directly on consecutive
 * batches of the workload's stream, tensors built before timing by the workload's own adapter.
 * For ONNX that is onnxruntime-node's `InferenceSession.run` with the session options of
 * Sluice's ONNX executor; for TF.js and PMML, whose runtimes Sluice reaches only through its
 * executors, the executor's `infer`.
 */
import { performance } from 'node:perf_hooks';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { ServingAdapter } from '../../src/serving/adapter.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import type { LoadedModel } from '../../src/serving/executor.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import type { NamedTensors } from '../../src/serving/tensor.js';
import type { AnyWorkload } from '../workloads/workload.js';

/** The options of `createOnnxExecutor()` (src/serving/executors/onnx.ts). */
export const executorSessionOptions: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 4,
};

export interface Measurement {
  readonly records: number;
  readonly rows: number;
  /** Model calls in the timed window. */
  readonly calls: number;
  readonly seconds: number;
  /** Process CPU seconds (user + system, every thread) in the timed window. */
  readonly cpuSeconds: number;
}

/** A batch and its size, whatever carries its tensors. */
export interface TimedBatch {
  readonly records: number;
  readonly rows: number;
}

/**
 * Calls `call` on `batches` in turn for `warmupSeconds` untimed (JIT, allocator, caches), then
 * times whole calls for at least `seconds`.
 */
export async function measureCalls<B extends TimedBatch>(
  batches: readonly B[],
  call: (batch: B) => Promise<unknown>,
  seconds: number,
  warmupSeconds: number,
): Promise<Measurement> {
  if (batches.length === 0) throw new Error('no batches');
  let i = 0;
  const next = (): B => batches[i++ % batches.length] as B;
  const warm = performance.now() + warmupSeconds * 1000;
  do await call(next());
  while (performance.now() < warm);

  let records = 0;
  let rows = 0;
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const until = started + seconds * 1000;
  let now = started;
  while (now < until) {
    const batch = next();
    await call(batch);
    records += batch.records;
    rows += batch.rows;
    calls++;
    now = performance.now();
  }
  const used = process.cpuUsage(cpu);
  return { records, rows, calls, seconds: (now - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

export interface InferBatch extends TimedBatch {
  readonly inputs: NamedTensors;
}

/** Records the raw calls cycle through, at most: enough to defeat caches, few enough to build in a moment and keep the heap small. */
const MAX_RECORDS = 16_384;

/** The stream's first records (up to `workload.rawPool`) cut into consecutive batches of `batchSize`, input tensors built. */
export function inferBatches(workload: AnyWorkload, batchSize: number): InferBatch[] {
  const batches: InferBatch[] = [];
  const count = Math.max(1, Math.floor(Math.min(MAX_RECORDS, workload.rawPool) / batchSize));
  for (let from = 0; from < count * batchSize; from += batchSize) {
    const records = Array.from({ length: batchSize }, (_, i) => workload.record(from + i));
    batches.push({ inputs: workload.adapter.toInputs(records), records: batchSize, rows: workload.rows(records) });
  }
  return batches;
}

/** A model called without Sluice's pipeline. */
export interface RawModel {
  /** e.g. `onnxruntime InferenceSession.run`. */
  readonly how: string;
  /** A call scoring `inputs`, with whatever the runtime needs built now, before timing. */
  bind(inputs: NamedTensors): () => Promise<unknown>;
  release(): Promise<void>;
}

/** Loads the model with the executor `defaultExecutors()` picks for its type, as model-serving does, and checks it fits the adapter. */
export async function loadModel(descriptor: ModelDescriptor, adapter: ServingAdapter<unknown, unknown, unknown>): Promise<LoadedModel> {
  const model = await defaultExecutors().load(descriptor);
  const problems = adapter.check(model.metadata());
  if (problems.length > 0) {
    await model.unload();
    throw new Error(`${descriptor.modelName} does not fit its workload: ${problems.join('; ')}`);
  }
  return model;
}

/** The model's own runtime: onnxruntime for ONNX, the executor (the only way in) for the others. */
export async function openRawModel(descriptor: ModelDescriptor, adapter: ServingAdapter<unknown, unknown, unknown>): Promise<RawModel> {
  if (descriptor.modelType === 'ONNX' && descriptor.modelBytes) {
    const session = await InferenceSession.create(descriptor.modelBytes, executorSessionOptions);
    return {
      how: 'onnxruntime InferenceSession.run',
      bind: (inputs) => {
        const feeds = ortFeeds(inputs);
        return () => session.run(feeds);
      },
      release: () => session.release(),
    };
  }
  const model = await loadModel(descriptor, adapter);
  return { how: `${descriptor.modelType} executor infer`, bind: (inputs) => () => model.infer(inputs), release: () => model.unload() };
}

/** onnxruntime tensors over the same buffers. */
function ortFeeds(inputs: NamedTensors): Record<string, OrtTensor> {
  const feeds: Record<string, OrtTensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    if (!(t.data instanceof Float32Array)) throw new Error(`input '${name}' is ${t.dtype}: the raw onnxruntime call feeds float32 only`);
    feeds[name] = new OrtTensor('float32', t.data, [...t.shape]);
  }
  return feeds;
}

/** Raw calls per second on the workload's batches of `batchSize`. */
export function measureRaw(model: RawModel, workload: AnyWorkload, batchSize: number, seconds: number, warmupSeconds: number): Promise<Measurement> {
  const batches = inferBatches(workload, batchSize).map((b) => ({ records: b.records, rows: b.rows, run: model.bind(b.inputs) }));
  return measureCalls(batches, (b) => b.run(), seconds, warmupSeconds);
}
