import type { ModelDescriptor } from './descriptor.js';
import type { NamedTensors, TensorSpec } from './tensor.js';

/** Tensor signature of a loaded model, read from the model itself when it loads. */
export interface ModelMetadata {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** A model ready to score. Pre/post-processing and record↔tensor mapping live outside it. */
export interface LoadedModel {
  metadata(): ModelMetadata;
  /** Scores one batch. Every input tensor's first dimension is the batch (row) dimension. */
  infer(inputs: NamedTensors, options?: CallOptions): Promise<NamedTensors>;
  /** Releases the model. Called once, after its in-flight `infer` calls have ended. */
  unload(): Promise<void>;
}

/**
 * Turns a model descriptor into a loaded model. One executor per model type; it registers
 * itself with an {@link ExecutorRegistry}. `load` rejects (with a SluiceError) when the
 * descriptor cannot give a working model: the model-serving streamlet then keeps its old one.
 */
export interface Executor {
  /** The descriptor `modelType` this executor serves, e.g. `ONNX`. */
  readonly modelType: string;
  load(descriptor: ModelDescriptor, options?: CallOptions): Promise<LoadedModel>;
}
