/**
 * The dense classifier's training (see ./dense-classifier.ts for the model's contract): TF.js on
 * the WebAssembly backend, binary cross-entropy with Adam, records shown in a seeded random
 * order, and the training set's standardisation folded into the first layer before export.
 */
import { setImmediate } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs';
import { messageOf, SluiceError } from '../../core/errors.js';
import { seededRandom } from '../../util/random.js';
import { BackendSelector } from '../executors/tfjs/backend.js';
import { saveTfjsArchive } from '../executors/tfjs/handlers.js';
import type { DenseClassifierSettings } from './dense-classifier.js';
import type { TrainedModel, TrainingSet } from './trainer.js';

/** Starts the WebAssembly backend, so the first training does not wait for it. */
export async function prepareBackend(): Promise<void> {
  await new BackendSelector('wasm').run(() => undefined);
}

export async function trainDenseClassifier<Data>(settings: DenseClassifierSettings, set: TrainingSet<Data>, signal: AbortSignal): Promise<TrainedModel> {
  const architecture = [settings.features.length, ...settings.hidden, 1].join('→');
  const failed = (message: string, cause?: unknown) =>
    new SluiceError('SLUICE_ERR_TRAINING_FAILED', { trainer: `TF.js dense ${architecture}`, message }, cause === undefined ? undefined : { cause });
  const { rows, labels } = matrix(settings.features, set, failed);
  const n = labels.length;
  const k = settings.features.length;
  const { mean, scale } = standardisation(rows, k);
  const order = shuffled(n, settings.seed);
  const x = new Float32Array(n * k);
  const y = new Float32Array(n);
  order.forEach((from, to) => {
    for (let j = 0; j < k; j++) x[to * k + j] = ((rows[from * k + j] as number) - (mean[j] as number)) * (scale[j] as number);
    y[to] = labels[from] as number;
  });

  const backend = new BackendSelector('wasm');
  const model = await backend.run(() => classifier(settings));
  try {
    const history = await backend.run(() => {
      model.compile({ optimizer: tf.train.adam(settings.learningRate), loss: 'binaryCrossentropy' });
      const xs = tf.tensor2d(x, [n, k]);
      const ys = tf.tensor2d(y, [n, 1]);
      return model
        .fit(xs, ys, {
          epochs: settings.epochs,
          batchSize: settings.batchSize,
          shuffle: false,
          verbose: 0,
          callbacks: {
            // Training yields after every batch so the stream keeps flowing, and stops when asked to.
            onBatchEnd: async () => {
              await setImmediate();
              if (signal.aborted) model.stopTraining = true;
            },
          },
        })
        .finally(() => tf.dispose([xs, ys]));
    });
    if (signal.aborted) throw failed(`stopped: ${messageOf(signal.reason)}`);
    const loss = Number(history.history.loss?.at(-1));
    if (!Number.isFinite(loss)) throw failed(`the loss is ${loss}: the records cannot be learned from as they are`);
    await backend.run(() => foldStandardisation(model, mean, scale));
    return {
      modelType: 'TENSORFLOWJS',
      modelBytes: await saveTfjsArchive(model),
      description: `TF.js dense ${architecture} classifier of ${settings.features.join(', ')}, trained on ${n} records (${settings.epochs} epochs, final loss ${loss.toFixed(4)})`,
    };
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw failed(messageOf(err), err);
  } finally {
    model.dispose();
  }
}

function classifier(settings: DenseClassifierSettings): tf.LayersModel {
  const input = tf.input({ shape: [settings.features.length], name: settings.inputName, dtype: 'float32' });
  let x = input;
  const units = [...settings.hidden, 1];
  units.forEach((width, i) => {
    const last = i === units.length - 1;
    x = tf.layers
      .dense({
        name: last ? settings.outputName : `hidden_${i}`,
        units: width,
        activation: last ? 'sigmoid' : 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: settings.seed * 100 + i }),
        biasInitializer: 'zeros',
      })
      .apply(x) as tf.SymbolicTensor;
  });
  return tf.model({ inputs: input, outputs: x });
}

/** The features as a row-major matrix and the labels, checked: finite values, labels 0 or 1, both classes present. */
function matrix<Data>(
  features: readonly string[],
  set: TrainingSet<Data>,
  failed: (message: string) => SluiceError,
): { rows: Float64Array; labels: readonly number[] } {
  const n = set.records.length;
  if (n !== set.labels.length) throw failed(`${n} records but ${set.labels.length} labels`);
  if (n < 2) throw failed(`${n} record(s) are too few to train on`);
  const k = features.length;
  const rows = new Float64Array(n * k);
  set.records.forEach((record, r) => {
    features.forEach((field, j) => {
      const value = (record as Readonly<Record<string, unknown>>)[field];
      if (typeof value !== 'number' || !Number.isFinite(value)) throw failed(`record ${r + 1}: field ${field} is ${String(value)}, not a finite number`);
      rows[r * k + j] = value;
    });
  });
  const bad = set.labels.findIndex((label) => label !== 0 && label !== 1);
  if (bad >= 0) throw failed(`label ${bad + 1} is ${set.labels[bad]}: a binary classifier needs labels 0 or 1`);
  if (!set.labels.includes(0) || !set.labels.includes(1)) throw failed(`all ${n} labels are ${set.labels[0]}: both classes are needed`);
  return { rows, labels: set.labels };
}

function standardisation(rows: Float64Array, k: number): { mean: Float64Array; scale: Float64Array } {
  const n = rows.length / k;
  const mean = new Float64Array(k);
  const squares = new Float64Array(k);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < k; j++) {
      const v = rows[r * k + j] as number;
      mean[j] = (mean[j] as number) + v / n;
      squares[j] = (squares[j] as number) + (v * v) / n;
    }
  }
  // A constant column keeps scale 1: it has nothing to standardise.
  const scale = mean.map((m, j) => {
    const variance = (squares[j] as number) - m * m;
    return variance > 1e-12 ? 1 / Math.sqrt(variance) : 1;
  });
  return { mean, scale };
}

/**
 * The first layer computes `((x − mean)·scale) W + b`; with `W' = diag(scale) W` and
 * `b' = b − (mean·scale) W` it computes the same from the raw `x`.
 */
function foldStandardisation(model: tf.LayersModel, mean: Float64Array, scale: Float64Array): void {
  const first = model.layers.find((layer) => layer.getWeights().length === 2);
  if (!first) throw new Error('the model has no dense layer');
  const [kernelTensor, biasTensor] = first.getWeights() as [tf.Tensor, tf.Tensor];
  const [k, units] = kernelTensor.shape as [number, number];
  const kernel = kernelTensor.dataSync();
  const bias = Float64Array.from(biasTensor.dataSync());
  const folded = new Float32Array(k * units);
  for (let i = 0; i < k; i++) {
    for (let u = 0; u < units; u++) {
      const w = (kernel[i * units + u] as number) * (scale[i] as number);
      folded[i * units + u] = w;
      bias[u] = (bias[u] as number) - (mean[i] as number) * w;
    }
  }
  tf.tidy(() => first.setWeights([tf.tensor2d(folded, [k, units]), tf.tensor1d(Float32Array.from(bias))]));
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
function shuffled(n: number, seed: number): number[] {
  const random = seededRandom(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}
