/**
 * Small TF.js models for the executor's tests, built with weights the tests choose, so expected
 * outputs can be computed by hand.
 */
import * as tf from '@tensorflow/tfjs';
// Models are built on the backend the executor serves on by default (and `tf.ready()` picks it).
import '@tensorflow/tfjs-backend-wasm';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { expect } from 'vitest';
import type { SluiceError } from '../../../src/core/errors.js';
import type { ModelDescriptor } from '../../../src/serving/descriptor.js';
import { packTfjsArchive, saveTfjsArchive } from '../../../src/serving/executors/tfjs/index.js';
import { tensor, type NamedTensors } from '../../../src/serving/tensor.js';

export function descriptor(modelName: string, bytes: Uint8Array | null, location: string | null = null): ModelDescriptor {
  return {
    modelName,
    description: `test model ${modelName}`,
    modelType: 'TENSORFLOWJS',
    modelBytes: bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    modelSourceLocation: location,
  };
}

export function expectSluiceError(code: SluiceError['code'], ...fragments: (string | RegExp)[]): object {
  const pattern = fragments.map((f) => (typeof f === 'string' ? f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : f.source)).join('[\\s\\S]*');
  return expect.objectContaining({ name: 'SluiceError', code, message: expect.stringMatching(new RegExp(pattern)) });
}

/** W (3×2, row-major: W[i][j] multiplies input i into output j) and b for the tiny dense models. */
export const W = [
  [0.5, -1.0],
  [2.0, 0.25],
  [-1.5, 3.0],
] as const;
export const b = [0.1, -0.2] as const;
/** The second output's weights: a 2→1 sigmoid on top of the first. */
export const V = [0.75, -0.5] as const;
export const c = 0.05;

/** By hand: y_j = Σ_i x_i · W[i][j] + b_j. */
export function affine(x: readonly number[]): number[] {
  return [0, 1].map((j) => x.reduce((sum, xi, i) => sum + xi * (W[i]?.[j] ?? NaN), 0) + (b[j] ?? NaN));
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/**
 * A functional layers model: input `features` [-1,3] → Dense(2, linear) named `scores` →
 * Dense(1, sigmoid) named `probability`. Two outputs: `scores` and `probability`.
 */
export async function denseArchive(): Promise<Uint8Array> {
  await tf.ready();
  const features = tf.input({ shape: [3], name: 'features' });
  const scores = tf.layers.dense({ units: 2, name: 'scores' }).apply(features) as tf.SymbolicTensor;
  const probability = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'probability' }).apply(scores) as tf.SymbolicTensor;
  const model = tf.model({ inputs: features, outputs: [scores, probability], name: 'dense_test' });
  try {
    tf.tidy(() => {
      model.getLayer('scores').setWeights([
        tf.tensor2d(
          W.map((row) => [...row]),
          [3, 2],
        ),
        tf.tensor1d([...b]),
      ]);
      model.getLayer('probability').setWeights([tf.tensor2d([[V[0]], [V[1]]], [2, 1]), tf.tensor1d([c])]);
    });
    return await saveTfjsArchive(model);
  } finally {
    model.dispose();
  }
}

/** A Sequential model: Dense(2) named `scores` on a [3] input, which TF.js names `scores_input`. */
export async function sequentialArchive(): Promise<Uint8Array> {
  await tf.ready();
  const model = tf.sequential({ name: 'sequential_test', layers: [tf.layers.dense({ inputShape: [3], units: 2, name: 'scores' })] });
  try {
    tf.tidy(() =>
      model.getLayer('scores').setWeights([
        tf.tensor2d(
          W.map((row) => [...row]),
          [3, 2],
        ),
        tf.tensor1d([...b]),
      ]),
    );
    return await saveTfjsArchive(model);
  } finally {
    model.dispose();
  }
}

export function features(rows: readonly (readonly number[])[]): NamedTensors {
  return { features: tensor('float32', [rows.length, 3], Float32Array.from(rows.flat())) };
}

const dims = (...sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) });
const float = { type: 'DT_FLOAT' };
const f32 = (values: readonly number[]) => new Uint8Array(Float32Array.from(values).buffer);

/**
 * A hand-written graph model (what tfjs-converter writes for a TensorFlow SavedModel):
 * `Identity(BiasAdd(MatMul(x, w), b))`, with w = W and b = b above. With a signature, the input
 * is `features` and the output `scores`; without, they are the node names `x` and `Identity`.
 */
export function graphArtifacts(options: { signature: boolean }): tf.io.ModelArtifacts {
  return {
    format: 'graph-model',
    generatedBy: 'sluice tests (by hand)',
    convertedBy: null,
    modelTopology: {
      versions: { producer: 1 },
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims(-1, 3) } } },
        { name: 'w', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 2) } } } },
        { name: 'b', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(2) } } } },
        { name: 'mm', op: 'MatMul', input: ['x', 'w'], attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } } },
        { name: 'y', op: 'BiasAdd', input: ['mm', 'b'], attr: { T: float } },
        { name: 'Identity', op: 'Identity', input: ['y'], attr: { T: float } },
      ],
    },
    ...(options.signature && {
      signature: {
        inputs: { features: { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: dims(-1, 3) } },
        outputs: { scores: { name: 'Identity:0', dtype: 'DT_FLOAT', tensorShape: dims(-1, 2) } },
      },
    }),
    weightSpecs: [
      { name: 'w', shape: [3, 2], dtype: 'float32' },
      { name: 'b', shape: [2], dtype: 'float32' },
    ],
    weightData: new Uint8Array([...f32(W.flat()), ...f32(b)]).buffer,
  };
}

/**
 * A graph TF.js can only run with executeAsync: `Where(Greater(x, 0))`, the indices of the
 * positive entries of x (a dynamic output shape).
 */
export function dynamicGraphArtifacts(): tf.io.ModelArtifacts {
  return {
    format: 'graph-model',
    generatedBy: 'sluice tests (by hand)',
    convertedBy: null,
    modelTopology: {
      versions: { producer: 1 },
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims(-1) } } },
        { name: 'zero', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims() } } } },
        { name: 'positive', op: 'Greater', input: ['x', 'zero'], attr: { T: float } },
        { name: 'where', op: 'Where', input: ['positive'], attr: { T: { type: 'DT_BOOL' } } },
        { name: 'Identity', op: 'Identity', input: ['where'], attr: { T: { type: 'DT_INT64' } } },
      ],
    },
    signature: {
      inputs: { values: { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: dims(-1) } },
      outputs: { positions: { name: 'Identity:0', dtype: 'DT_INT64', tensorShape: dims(-1, 1) } },
    },
    weightSpecs: [{ name: 'zero', shape: [], dtype: 'float32' }],
    weightData: f32([0]).buffer,
  };
}

export const graphArchive = (options: { signature: boolean }): Uint8Array => packTfjsArchive(graphArtifacts(options));

/** A zip of the given files (strings are written as UTF-8), for malformed archives. */
export function zipOf(files: Readonly<Record<string, string | Uint8Array>>): Uint8Array {
  const zippable: Zippable = {};
  for (const [name, content] of Object.entries(files)) zippable[name] = typeof content === 'string' ? strToU8(content) : content;
  return zipSync(zippable);
}

/** The registered variables and tensors in the TF.js engine: what a leak would grow. */
export function engineCounts(): { tensors: number; variables: number; bytes: number } {
  return {
    tensors: tf.memory().numTensors,
    variables: Object.keys(tf.engine().state.registeredVariables).length,
    bytes: tf.memory().numBytes,
  };
}
