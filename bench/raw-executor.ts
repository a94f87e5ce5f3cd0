/**
 * A model run raw through its Sluice executor: `load()` once, then `infer()` on the batches the
 * pipeline forms (consecutive runs of `batchSize` records from the DataIngress generator), with
 * the input tensors built before timing by the recommender's own adapter (`toInputs`). Every
 * format is measured the same way, through the executor interface the pipeline calls, so the
 * figure is the executor's own speed: the model's runtime plus the executor's conversions
 * (Sluice tensors to onnxruntime's, TF.js's or the PMML evaluator's, and back), nothing else.
 */
import { recommenderAdapter } from '../examples/recommender/adapter.js';
import type { RecommenderRecord } from '../examples/recommender/schemas.js';
import type { ModelDescriptor } from '../src/serving/descriptor.js';
import type { LoadedModel } from '../src/serving/executor.js';
import { defaultExecutors } from '../src/serving/executors/index.js';
import type { NamedTensors } from '../src/serving/tensor.js';
import { measureCalls, type Measurement, type TimedBatch } from './raw-ort.js';
import { rowsOf } from './records.js';

export interface InferBatch extends TimedBatch {
  readonly inputs: NamedTensors;
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

/** An executor's `infer` on each batch. */
export function measureInfer(model: LoadedModel, batches: readonly InferBatch[], warmup: number, records: number): Promise<Measurement> {
  return measureCalls(batches, (batch) => model.infer(batch.inputs), warmup, records);
}
