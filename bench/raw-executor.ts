/**
 * A model run raw through its Sluice executor: `load()` once, then `infer()` on the batches the
 * pipeline forms (consecutive runs of `batchSize` records from the DataIngress generator), with
 * the input tensors built before timing by the recommender's own adapter (`toInputs`). Every
 * format is measured the same way, through the executor interface the pipeline calls, so the
 * figure is the executor's own speed: the model's runtime plus the executor's conversions
 * (Sluice tensors to onnxruntime's, TF.js's or the PMML evaluator's, and back), nothing else.
 */
import { performance } from 'node:perf_hooks';
import { recommenderAdapter } from '../examples/recommender/adapter.js';
import type { RecommenderRecord } from '../examples/recommender/schemas.js';
import type { ModelDescriptor } from '../src/serving/descriptor.js';
import type { LoadedModel } from '../src/serving/executor.js';
import { defaultExecutors } from '../src/serving/executors/index.js';
import type { NamedTensors } from '../src/serving/tensor.js';
import type { Measurement } from './raw-ort.js';
import { rowsOf } from './records.js';

export interface InferBatch {
  readonly inputs: NamedTensors;
  readonly records: number;
  readonly rows: number;
}

/** Loads the model with the executor `defaultExecutors()` picks for its type, as model-serving does. */
export async function loadModel(descriptor: ModelDescriptor): Promise<LoadedModel> {
  const model = await defaultExecutors().load(descriptor);
  const problems = recommenderAdapter.check(model.metadata());
  if (problems.length > 0) {
    await model.unload();
    throw new Error(`${descriptor.modelName} does not fit the recommender: ${problems.join('; ')}`);
  }
  return model;
}

/** The pool cut into consecutive batches of `batchSize` records, input tensors built. */
export function inferBatchesOf(pool: readonly RecommenderRecord[], batchSize: number): InferBatch[] {
  const batches: InferBatch[] = [];
  for (let from = 0; from + batchSize <= pool.length; from += batchSize) {
    const batch = pool.slice(from, from + batchSize);
    batches.push({ inputs: recommenderAdapter.toInputs(batch), records: batch.length, rows: rowsOf(batch) });
  }
  return batches;
}

/**
 * Runs `warmup` records' worth of batches untimed (JIT, kernels, allocator), then times
 * `records` records' worth, cycling through `batches` (built once by {@link inferBatchesOf}).
 */
export async function measureInfer(model: LoadedModel, batches: readonly InferBatch[], warmup: number, records: number): Promise<Measurement> {
  if (batches.length === 0) throw new Error('no batches');
  let i = 0;
  const next = (): InferBatch => batches[i++ % batches.length] as InferBatch;
  for (let done = 0; done < warmup;) {
    const batch = next();
    await model.infer(batch.inputs);
    done += batch.records;
  }

  let timedRecords = 0;
  let timedRows = 0;
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (timedRecords < records) {
    const batch = next();
    await model.infer(batch.inputs);
    timedRecords += batch.records;
    timedRows += batch.rows;
    calls++;
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { records: timedRecords, rows: timedRows, calls, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}
