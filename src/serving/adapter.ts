import type { ModelMetadata } from './executor.js';
import type { ModelResultMetadata } from './result-metadata.js';
import type { NamedTensors } from './tensor.js';

/**
 * Maps one application's records to a model's tensors and back, so executors stay generic.
 * `Output` is the model's answer for one record; `Result` is what the streamlet emits.
 */
export interface ServingAdapter<Record, Output, Result> {
  /**
   * Why a freshly loaded model cannot serve these records (e.g. a missing input tensor);
   * empty when it fits. A non-empty answer rejects the model update.
   */
  check(metadata: ModelMetadata): string[];
  /**
   * Why a record cannot be scored at all (a missing field, an id out of range), or undefined.
   * Rejected records get an error result and stay out of the model call, so one bad record
   * never costs its batch a retry.
   */
  reject?(record: Record): string | undefined;
  /** Input tensors for a batch of records (none of them rejected); throws if one cannot be converted. */
  toInputs(records: readonly Record[]): NamedTensors;
  /** One output per record, in order, from the model's outputs for the same batch. */
  fromOutputs(records: readonly Record[], outputs: NamedTensors): Output[];
  /** The emitted result; `output` is undefined when scoring failed (`metadata.errors` says why). */
  result(record: Record, output: Output | undefined, metadata: ModelResultMetadata): Result;
}
