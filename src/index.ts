/** Sluice's public API. */
export { config, type ConfigParameter, type ConfigValues } from './core/config.js';
export { SluiceError, errorTable, isSluiceError, type ErrorCode } from './core/errors.js';
export { createLogger, type Logger, type LogLevel } from './core/log.js';
export { defineSchema, incompatibility, type AvroValue, type Schema } from './core/schema.js';
export {
  defineStreamlet,
  outlet,
  type AnyStreamlet,
  type Inlet,
  type StreamletContext,
  type StreamletDefinition,
  type StreamletPackage,
} from './core/streamlet.js';
export type { Application } from './blueprint/application.js';
export { DeadLetter, DEAD_LETTERS_TOPIC } from './blueprint/dead-letter.js';
export { loadBlueprint } from './blueprint/validate.js';
export { builtinPackages, runApplication, verifyApplication, type ApplicationOptions } from './app.js';
export type { Outcome, RunningApplication } from './runtime/host.js';
export type { Runtime, RuntimeSink, RuntimeSource } from './runtime/runtime.js';
export type { ServingAdapter } from './serving/adapter.js';
export { ModelDescriptorSchema, modelTypes, type ModelDescriptor, type ModelType } from './serving/descriptor.js';
export type { Executor, LoadedModel, ModelMetadata } from './serving/executor.js';
export { defaultExecutors } from './serving/executors/index.js';
export { modelServing, type ModelServingOptions } from './serving/model-serving.js';
export { ExecutorRegistry } from './serving/registry.js';
export { ModelResultMetadataSchema, NO_MODEL_ERROR, type ModelResultMetadata } from './serving/result-metadata.js';
export { tensor, type DType, type NamedTensors, type Tensor, type TensorSpec } from './serving/tensor.js';
