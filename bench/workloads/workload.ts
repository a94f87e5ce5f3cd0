/**
 * A workload: a stream of records, the model-serving streamlet that scores them, and the models
 * it serves, per executor. The harness runs every workload the same way: the raw model call on
 * batches of the stream's records, and the pipeline scoring the same stream.
 */
import type { Schema } from '../../src/core/schema.js';
import type { AnyStreamlet } from '../../src/core/streamlet.js';
import type { ServingAdapter } from '../../src/serving/adapter.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';

/** The embedded executors a configuration can serve with. */
export const executorIds = ['onnx', 'tfjs', 'pmml'] as const;
export type ExecutorId = (typeof executorIds)[number];
export const executorLabels: Readonly<Record<ExecutorId, string>> = { onnx: 'ONNX', tfjs: 'TF.js', pmml: 'PMML' };

export interface Workload<R, S> {
  readonly id: string;
  /** What the model is and what a record holds, in a few words. */
  readonly label: string;
  readonly data: Schema<R>;
  readonly result: Schema<S>;
  /** Model-serving for these records (the workload's adapter, the default executors). */
  readonly serving: AnyStreamlet;
  readonly adapter: ServingAdapter<R, unknown, S>;
  /**
   * Record `k` of the stream, carrying `k` so that its result can be paired with it at the sink
   * whatever the order results arrive in. Records of the same `k` hold the same values.
   */
  record(k: number): R;
  /** The `k` of the record a result was made from. */
  indexOf(result: S): number;
  /** An empty error: the result was scored by a model. */
  scored(result: S): boolean;
  /** Model rows of these records (the recommender scores one row per product); the record count otherwise. */
  rows(records: readonly R[]): number;
  /** How many of the stream's first records the raw model calls cycle through (their tensors are built before timing). */
  readonly rawPool: number;
  /** The model each executor serves this workload with. */
  readonly models: Readonly<Partial<Record<ExecutorId, () => Promise<ModelDescriptor>>>>;
}

/** A workload of any record type, as the harness holds them. */
// Method members are checked bivariantly, so every Workload<R, S> is one of these.
export type AnyWorkload = Workload<unknown, unknown>;

/** A descriptor carrying the model's bytes. */
export function modelAsData(modelName: string, description: string, modelType: ModelDescriptor['modelType'], bytes: Uint8Array): ModelDescriptor {
  return { modelName, description, modelType, modelBytes: Buffer.from(bytes), modelSourceLocation: null };
}
