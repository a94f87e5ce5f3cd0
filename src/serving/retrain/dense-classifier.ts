/**
 * A built-in in-process trainer: a small dense network (logistic regression without hidden
 * layers) for binary labels, trained with TensorFlow.js on its WebAssembly backend and handed
 * over as a TF.js archive (`modelType` TENSORFLOWJS). The model takes the raw fields as float32
 * `[n, k]` on input `features` and gives the probability of class 1 as `[n, 1]` on output
 * `score`: the contract of a fields adapter (`fieldsAdapter({ inputs: { features: [...] },
 * outputs: [{ name: 'score', width: 1 }] })`). Standardisation is learned from the training set
 * and folded into the first layer's weights, so nothing but the model is needed to serve it.
 *
 * This module is light: TF.js (half a second to import, seconds on a busy machine) loads with
 * ./dense-classifier-training.ts on `prepare` or the first `train`.
 */
import { SluiceError } from '../../core/errors.js';
import type { NumericFieldOf } from '../fields-adapter.js';
import type { Trainer } from './trainer.js';

export interface DenseClassifierOptions<Data> {
  /** The record fields the model reads, in this order. */
  readonly features: readonly NumericFieldOf<Data>[];
  /** Name of the input tensor (the model's input layer); default `features`. */
  readonly inputName?: string;
  /** Name of the output tensor (the model's last layer); default `score`. */
  readonly outputName?: string;
  /** Units of the hidden layers (ReLU); default none: a logistic regression. */
  readonly hidden?: readonly number[];
  /** Passes over the training set; default 20. */
  readonly epochs?: number;
  /** Default 128. */
  readonly batchSize?: number;
  /** Adam's learning rate; default 0.05. */
  readonly learningRate?: number;
  /** Seed of the weight initialisation and of the order records are shown in; default 1. */
  readonly seed?: number;
}

/** The options with every default filled in and checked. */
export interface DenseClassifierSettings {
  readonly features: readonly string[];
  readonly inputName: string;
  readonly outputName: string;
  readonly hidden: readonly number[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
}

/** A trainer of dense binary classifiers; throws SLUICE_ERR_INVALID_ARGUMENT naming every bad option. */
export function denseClassifierTrainer<Data>(options: DenseClassifierOptions<Data>): Trainer<Data> {
  const settings = denseClassifierSettings(options);
  let training: Promise<typeof import('./dense-classifier-training.js')> | undefined;
  const load = () => (training ??= import('./dense-classifier-training.js'));
  return {
    name: `TF.js dense ${[settings.features.length, ...settings.hidden, 1].join('→')}`,
    async prepare() {
      await (await load()).prepareBackend();
    },
    async train(set, signal) {
      return (await load()).trainDenseClassifier(settings, set, signal);
    },
  };
}

function denseClassifierSettings<Data>(options: DenseClassifierOptions<Data>): DenseClassifierSettings {
  const settings: DenseClassifierSettings = Object.freeze({
    features: Object.freeze([...options.features]),
    inputName: options.inputName ?? 'features',
    outputName: options.outputName ?? 'score',
    hidden: Object.freeze([...(options.hidden ?? [])]),
    epochs: options.epochs ?? 20,
    batchSize: options.batchSize ?? 128,
    learningRate: options.learningRate ?? 0.05,
    seed: options.seed ?? 1,
  });
  const problems: string[] = [];
  const positive = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value < 1) problems.push(`${name} must be a positive integer, got ${value}`);
  };
  if (settings.features.length === 0) problems.push('features must name at least one field');
  const repeated = settings.features.filter((f, i) => settings.features.indexOf(f) !== i);
  if (repeated.length > 0) problems.push(`features names ${repeated.join(', ')} twice`);
  if (settings.inputName === '' || settings.outputName === '') problems.push('inputName and outputName must not be empty');
  if (settings.inputName === settings.outputName) problems.push(`inputName and outputName are both '${settings.inputName}'`);
  settings.hidden.forEach((units, i) => positive(`hidden[${i}]`, units));
  positive('epochs', settings.epochs);
  positive('batchSize', settings.batchSize);
  if (!(settings.learningRate > 0 && Number.isFinite(settings.learningRate)))
    problems.push(`learningRate must be a positive number, got ${settings.learningRate}`);
  if (!Number.isSafeInteger(settings.seed)) problems.push(`seed must be an integer, got ${settings.seed}`);
  if (problems.length > 0) throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `dense classifier trainer: ${problems.join('; ')}` });
  return settings;
}
