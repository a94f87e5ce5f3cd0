/**
 * What a retrain streamlet asks of a trainer: learn from labelled records, give back a model
 * file. In-process trainers (TensorFlow.js: ./dense-classifier.ts) and an external command
 * (./command-trainer.ts) both fit this one shape, so the retrain logic never knows which runs.
 */
import type { ModelType } from '../descriptor.js';

/** Records of the data schema with one label each (0/1 for a classifier, a number for a regression). */
export interface TrainingSet<Data> {
  readonly records: readonly Data[];
  readonly labels: readonly number[];
}

/** A trained model, as a descriptor will carry it. */
export interface TrainedModel {
  readonly modelType: ModelType;
  readonly modelBytes: Uint8Array;
  /** What was trained and how, for the descriptor's description. */
  readonly description: string;
}

export interface Trainer<Data> {
  /** Names the trainer in logs and errors, e.g. `TF.js dense 4→1` or `command python train.py`. */
  readonly name: string;
  /** Gets ready for the first `train` (loads libraries), while feedback is still being collected. */
  prepare?(): Promise<void>;
  /** Trains on `set`; rejects (SLUICE_ERR_TRAINING_FAILED) when no model comes out, and stops early when `signal` aborts. */
  train(set: TrainingSet<Data>, signal: AbortSignal): Promise<TrainedModel>;
}
