/**
 * Trains the fraud example's autoencoder with TensorFlow.js (WebAssembly backend) on normal
 * transactions from the example's own generator, and exports it to ONNX and to a TF.js archive.
 *
 * Architecture: 29 → 14 → 7 → 14 → 29, ReLU between, a linear reconstruction; trained to
 * reproduce standardised inputs (mean squared error, Adam). The exported models take the *raw*
 * 29 values and give the reconstruction error as `score` [n,1]: standardisation (the training
 * set's mean and standard deviation) and the error are folded into the graph, so the adapter
 * needs nothing but the model (see ../adapter.ts for the contract).
 *
 * The threshold is picked without labels, as one would on real data: 1.5 × the 99.9th
 * percentile of the reconstruction errors of held-out normal transactions.
 *
 * Everything is seeded (data, weight initialisation, batch order): the same options give the
 * same weights, threshold and model bytes.
 *
 * Run directly to write the model files:
 *   npx tsx examples/fraud/models/train.ts [outDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { saveTfjsArchive } from '../../../src/serving/executors/tfjs/handlers.js';
import { encodeModel, float32Initializer, intsAttr, intAttr, node, valueInfo, type NodeProto, type TensorProto } from '../../../src/serving/onnx-builder.js';
import { FRAUD_INPUT, FRAUD_OUTPUT } from '../adapter.js';
import { INPUT_WIDTH, TransactionGenerator } from '../generator.js';

export const FRAUD_MODEL_NAME = 'fraud-autoencoder';

export type Activation = 'relu' | 'linear';

/** One dense layer: `activation(x · kernel + bias)`, kernel [inputs, units] row-major (TF.js's layout). */
export interface DenseLayer {
  readonly inputs: number;
  readonly units: number;
  readonly activation: Activation;
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

/** A trained autoencoder, in plain arrays: what the exporters and the reference scorer read. */
export interface Autoencoder {
  /** Subtracted from the raw input, per column. */
  readonly mean: Float32Array;
  /** Multiplies the centred input, per column (1 / standard deviation). */
  readonly scale: Float32Array;
  readonly layers: readonly DenseLayer[];
  /** Reconstruction error above which a transaction is flagged. */
  readonly threshold: number;
}

export interface TrainingOptions {
  /** Seed of the training data, weight initialisation and batch order; default 1. */
  readonly seed?: number;
  /** Normal transactions to train on; default 20,000. */
  readonly samples?: number;
  /** Held-out normal transactions the threshold is picked from; default 10,000. */
  readonly validationSamples?: number;
  /** Default 40. */
  readonly epochs?: number;
  /** Default 256. */
  readonly batchSize?: number;
  /** Adam's learning rate; default 0.01. */
  readonly learningRate?: number;
  /** Hidden layer widths; default [14, 7, 14]. */
  readonly hidden?: readonly number[];
  /** Percentile of the held-out errors the threshold starts from; default 0.999. */
  readonly thresholdQuantile?: number;
  /** Factor applied to that percentile; default 1.5. */
  readonly thresholdMargin?: number;
}

export interface TrainingReport {
  readonly samples: number;
  readonly validationSamples: number;
  readonly epochs: number;
  readonly finalLoss: number;
  /** Percentiles of the held-out normal transactions' reconstruction errors. */
  readonly validationErrors: { readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number };
  readonly thresholdRule: string;
  readonly milliseconds: number;
}

export interface TrainedFraudModel {
  readonly autoencoder: Autoencoder;
  readonly report: TrainingReport;
}

/** Selects TF.js's WebAssembly backend (offline, 3–30× faster than the pure-JS one here). */
export async function useWasmBackend(): Promise<void> {
  if (tf.getBackend() === 'wasm') return;
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js WebAssembly backend cannot start');
  await tf.ready();
}

/** Trains the autoencoder on normal transactions of the example's generator. */
export async function trainFraudAutoencoder(options: TrainingOptions = {}): Promise<TrainedFraudModel> {
  const started = performance.now();
  const seed = options.seed ?? 1;
  const samples = options.samples ?? 20_000;
  const validationSamples = options.validationSamples ?? 10_000;
  const epochs = options.epochs ?? 40;
  const hidden = options.hidden ?? [14, 7, 14];
  const quantile = options.thresholdQuantile ?? 0.999;
  const margin = options.thresholdMargin ?? 1.5;
  await useWasmBackend();

  const rows = new TransactionGenerator({ seed }).normalRows(samples);
  const validation = new TransactionGenerator({ seed: seed + 1 }).normalRows(validationSamples);
  const { mean, scale } = standardisation(rows, INPUT_WIDTH);
  const standardised = standardise(rows, mean, scale);

  const widths = [INPUT_WIDTH, ...hidden, INPUT_WIDTH];
  const model = tf.sequential({
    layers: widths.slice(1).map((units, i) =>
      tf.layers.dense({
        ...(i === 0 && { inputShape: [INPUT_WIDTH] }),
        units,
        activation: i === widths.length - 2 ? 'linear' : 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + i }),
        biasInitializer: 'zeros',
      }),
    ),
  });
  let finalLoss = Number.NaN;
  try {
    model.compile({ optimizer: tf.train.adam(options.learningRate ?? 0.01), loss: 'meanSquaredError' });
    const x = tf.tensor2d(standardised, [samples, INPUT_WIDTH]);
    try {
      // The data is i.i.d. already; batches in a fixed order keep training repeatable.
      const history = await model.fit(x, x, { epochs, batchSize: options.batchSize ?? 256, shuffle: false, verbose: 0 });
      finalLoss = Number(history.history.loss?.at(-1));
    } finally {
      x.dispose();
    }
    const layers = model.layers.map((layer, i): DenseLayer => {
      const [kernel, bias] = layer.getWeights().map((w) => w.dataSync() as Float32Array);
      if (kernel === undefined || bias === undefined) throw new Error(`layer ${layer.name} has no kernel and bias`);
      return {
        inputs: widths[i] as number,
        units: widths[i + 1] as number,
        activation: i === widths.length - 2 ? 'linear' : 'relu',
        kernel: kernel.slice(),
        bias: bias.slice(),
      };
    });

    const errors = Float64Array.from(reconstructionErrors({ mean, scale, layers, threshold: 0 }, validation)).sort();
    const at = (p: number) => errors[Math.min(errors.length - 1, Math.floor(p * errors.length))] as number;
    const threshold = roundTo(margin * at(quantile), 4);
    return {
      autoencoder: { mean, scale, layers, threshold },
      report: {
        samples,
        validationSamples,
        epochs,
        finalLoss,
        validationErrors: { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: errors[errors.length - 1] as number },
        thresholdRule: `${margin} × the ${quantile * 100}th percentile of the reconstruction errors of ${validationSamples} held-out normal transactions`,
        milliseconds: performance.now() - started,
      },
    };
  } finally {
    model.dispose();
  }
}

/**
 * The reconstruction error of each row (raw inputs, row-major [n, 29]), computed in plain
 * JavaScript in double precision: the reference the exported models are checked against.
 */
export function reconstructionErrors(autoencoder: Autoencoder, rows: ArrayLike<number>): number[] {
  const width = autoencoder.mean.length;
  const n = rows.length / width;
  const out = new Array<number>(n);
  for (let r = 0; r < n; r++) {
    let z: number[] = [];
    for (let j = 0; j < width; j++) z.push(((rows[r * width + j] as number) - (autoencoder.mean[j] as number)) * (autoencoder.scale[j] as number));
    const input = z;
    for (const layer of autoencoder.layers) {
      const next = new Array<number>(layer.units);
      for (let u = 0; u < layer.units; u++) {
        let sum = layer.bias[u] as number;
        for (let i = 0; i < layer.inputs; i++) sum += (z[i] as number) * (layer.kernel[i * layer.units + u] as number);
        next[u] = layer.activation === 'relu' ? Math.max(0, sum) : sum;
      }
      z = next;
    }
    let error = 0;
    for (let j = 0; j < width; j++) error += ((input[j] as number) - (z[j] as number)) ** 2;
    out[r] = error / width;
  }
  return out;
}

export interface ExportOptions {
  readonly name?: string;
  /** Default `features`; tests pass another name to build a model that does not fit. */
  readonly inputName?: string;
  readonly outputName?: string;
}

/**
 * The autoencoder as an ONNX graph (opset 13): Sub/Mul standardise, Gemm (+Relu) per layer, then
 * Sub, Mul and ReduceMean give the reconstruction error.
 */
export function buildFraudOnnx(autoencoder: Autoencoder, options: ExportOptions = {}): Uint8Array {
  const input = options.inputName ?? FRAUD_INPUT;
  const output = options.outputName ?? FRAUD_OUTPUT;
  const width = autoencoder.mean.length;
  const initializers: TensorProto[] = [float32Initializer('mean', [width], autoencoder.mean), float32Initializer('scale', [width], autoencoder.scale)];
  const nodes: NodeProto[] = [node('Sub', [input, 'mean'], ['centred']), node('Mul', ['centred', 'scale'], ['standardised'])];
  let previous = 'standardised';
  autoencoder.layers.forEach((layer, i) => {
    const last = i === autoencoder.layers.length - 1;
    initializers.push(float32Initializer(`kernel_${i}`, [layer.inputs, layer.units], layer.kernel), float32Initializer(`bias_${i}`, [layer.units], layer.bias));
    const linear = last ? 'reconstruction' : `dense_${i}`;
    nodes.push(node('Gemm', [previous, `kernel_${i}`, `bias_${i}`], [linear]));
    previous = linear;
    if (layer.activation === 'relu') {
      nodes.push(node('Relu', [linear], [`relu_${i}`]));
      previous = `relu_${i}`;
    }
  });
  nodes.push(
    node('Sub', ['standardised', previous], ['residual']),
    node('Mul', ['residual', 'residual'], ['squared']),
    node('ReduceMean', ['squared'], [output], [intsAttr('axes', [1]), intAttr('keepdims', 1)]),
  );
  const name = options.name ?? FRAUD_MODEL_NAME;
  return encodeModel(
    {
      name,
      docString: `fraud autoencoder ${describeLayers(autoencoder)}: ${input} [n,${width}] (raw) → ${output} [n,1] (reconstruction error)`,
      inputs: [valueInfo(input, 'float32', ['batch', width])],
      outputs: [valueInfo(output, 'float32', ['batch', 1])],
      initializers,
      nodes,
    },
    { docString: `Sluice example fraud detector ${name}`, metadata: { threshold: String(autoencoder.threshold) } },
  );
}

/**
 * The autoencoder as a TF.js layers model with the same contract as the ONNX one, from standard
 * layers only: a dense layer with a diagonal kernel standardises, the trained layers
 * reconstruct, a dense −I and an `add` give the residual, `dot` its sum of squares, and a dense
 * 1/29 the mean. The caller disposes it.
 */
export function buildFraudTfjs(autoencoder: Autoencoder, options: ExportOptions = {}): tf.LayersModel {
  const width = autoencoder.mean.length;
  const diagonal = (values: ArrayLike<number>) => {
    const m = new Float32Array(values.length * values.length);
    for (let j = 0; j < values.length; j++) m[j * values.length + j] = values[j] as number;
    return m;
  };
  // Each layer with the values of its weights (kernel [inputs, units], then bias when it has one).
  const weighted: [tf.layers.Layer, Float32Array[]][] = [];
  const dense = (name: string, units: number, activation: Activation, weights: Float32Array[]) => {
    const layer = tf.layers.dense({ name, units, activation, useBias: weights.length > 1 });
    weighted.push([layer, weights]);
    return layer;
  };
  const input = tf.input({ shape: [width], name: options.inputName ?? FRAUD_INPUT, dtype: 'float32' });
  const shift = autoencoder.mean.map((m, j) => -m * (autoencoder.scale[j] as number));
  const standardised = dense('standardise', width, 'linear', [diagonal(autoencoder.scale), shift]).apply(input) as tf.SymbolicTensor;
  let x = standardised;
  autoencoder.layers.forEach((layer, i) => {
    const name = i === autoencoder.layers.length - 1 ? 'reconstruction' : `dense_${i}`;
    x = dense(name, layer.units, layer.activation, [layer.kernel, layer.bias]).apply(x) as tf.SymbolicTensor;
  });
  const negated = dense('negate', width, 'linear', [diagonal(new Float32Array(width).fill(-1))]).apply(x) as tf.SymbolicTensor;
  const residual = tf.layers.add({ name: 'residual' }).apply([standardised, negated]) as tf.SymbolicTensor;
  const squares = tf.layers.dot({ name: 'sum_of_squares', axes: 1 }).apply([residual, residual]) as tf.SymbolicTensor;
  const score = dense(options.outputName ?? FRAUD_OUTPUT, 1, 'linear', [new Float32Array([1 / width])]).apply(squares) as tf.SymbolicTensor;
  const model = tf.model({ name: options.name ?? FRAUD_MODEL_NAME, inputs: input, outputs: score });
  tf.tidy(() => {
    for (const [layer, values] of weighted) {
      const units = (layer.getConfig() as { units: number }).units;
      layer.setWeights(values.map((v, i) => (i === 0 ? tf.tensor2d(v, [v.length / units, units]) : tf.tensor1d(v))));
    }
  });
  return model;
}

/** The TF.js archive (one zip: model.json + weights) of the autoencoder. */
export async function buildFraudTfjsArchive(autoencoder: Autoencoder, options: ExportOptions = {}): Promise<Uint8Array> {
  await useWasmBackend();
  const model = buildFraudTfjs(autoencoder, options);
  try {
    return await saveTfjsArchive(model);
  } finally {
    model.dispose();
  }
}

/**
 * Trains the model and writes `fraud-autoencoder.onnx`, `fraud-autoencoder.tfjs` and the
 * `fraud-autoencoder.json` sidecar (description, threshold, how it was trained) into `outDir`.
 */
export async function writeFraudModels(outDir: string, options: TrainingOptions = {}): Promise<{ written: string[]; trained: TrainedFraudModel }> {
  const trained = await trainFraudAutoencoder(options);
  const { autoencoder, report } = trained;
  await mkdir(outDir, { recursive: true });
  const onnxPath = join(outDir, `${FRAUD_MODEL_NAME}.onnx`);
  const tfjsPath = join(outDir, `${FRAUD_MODEL_NAME}.tfjs`);
  const sidecarPath = join(outDir, `${FRAUD_MODEL_NAME}.json`);
  await writeFile(onnxPath, buildFraudOnnx(autoencoder));
  await writeFile(tfjsPath, await buildFraudTfjsArchive(autoencoder));
  // No timings in the sidecar: the same training writes the same file.
  const { milliseconds: _, ...stable } = report;
  const sidecar = {
    description: `Fraud autoencoder ${describeLayers(autoencoder)} trained on ${report.samples} normal transactions; reconstruction error above ${autoencoder.threshold} is fraud.`,
    threshold: autoencoder.threshold,
    training: stable,
  };
  await writeFile(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  return { written: [onnxPath, tfjsPath, sidecarPath], trained };
}

function describeLayers(autoencoder: Autoencoder): string {
  return [autoencoder.mean.length, ...autoencoder.layers.map((l) => l.units)].join('→');
}

function standardisation(rows: Float32Array, width: number): { mean: Float32Array; scale: Float32Array } {
  const n = rows.length / width;
  const sum = new Float64Array(width);
  const squares = new Float64Array(width);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < width; j++) {
      const v = rows[r * width + j] as number;
      sum[j] = (sum[j] as number) + v;
      squares[j] = (squares[j] as number) + v * v;
    }
  }
  const mean = Float32Array.from(sum, (s) => s / n);
  const scale = Float32Array.from(squares, (s, j) => 1 / Math.sqrt(Math.max(s / n - ((sum[j] as number) / n) ** 2, 1e-12)));
  return { mean, scale };
}

function standardise(rows: Float32Array, mean: Float32Array, scale: Float32Array): Float32Array {
  const width = mean.length;
  return rows.map((v, i) => (v - (mean[i % width] as number)) * (scale[i % width] as number));
}

function roundTo(value: number, significant: number): number {
  return Number(value.toPrecision(significant));
}

// CLI: only when this file is the entry point, never on import.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url));
  const { written, trained } = await writeFraudModels(outDir);
  const { report, autoencoder } = trained;
  console.log(
    `trained ${FRAUD_MODEL_NAME} in ${(report.milliseconds / 1000).toFixed(1)} s: final loss ${report.finalLoss.toFixed(4)}, ` +
      `threshold ${autoencoder.threshold} (${report.thresholdRule})`,
  );
  for (const path of written) console.log(`wrote ${path}`);
}
