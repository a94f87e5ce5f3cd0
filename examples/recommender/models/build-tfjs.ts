/**
 * Builds the recommender example's TensorFlow.js model (a layers model), in TypeScript, from
 * seeded random numbers, and writes it as one TF.js model archive (`.tfjs`, see
 * src/serving/executors/tfjs/archive.ts).
 *
 * Same contract as the ONNX models (build-models.ts): inputs `users` and `products`, float32
 * [n,1]; output `predictions`, float32 [n,1], one score in (0,1) per row. The network:
 *
 *   users    ─ Embedding(1000,d) ─ Flatten ─┐
 *   products ─ Embedding(300,d)  ─ Flatten ─┴ Dot ─┐
 *   products ─ Embedding(300,1)  ─ Flatten ────────┴ Add ─ Dense(1, sigmoid) = predictions
 *
 *   predictions = sigmoid( temperature · (user·product + productBias) + shift )
 *
 * The embeddings come from the same construction as the ONNX models (taste clusters), with its
 * own seed, more clusters and dimensions, and a sharper sigmoid: its scores are visibly not
 * recommender-a's or -b's.
 *
 * Run directly to write the model and its description sidecar:
 *   npx tsx examples/recommender/models/build-tfjs.ts [outDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { saveTfjsArchive } from '../../../src/serving/executors/tfjs/index.js';
import { productCount, recommenderWeights, userCount } from './build-models.js';

export interface RecommenderTfjsOptions {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly dimensions: number;
  readonly clusters: number;
  /** The Dense layer's kernel: how sharply affinity turns into a score. */
  readonly temperature: number;
  /** The Dense layer's bias. */
  readonly shift: number;
  /** Default `['users', 'products']`; tests pass other names to build a model that does not fit. */
  readonly inputNames?: readonly [string, string];
}

export const recommenderTfjsModel: RecommenderTfjsOptions = {
  name: 'recommender-tfjs',
  description:
    'Recommender TF.js: a TensorFlow.js layers model, embeddings of 1000 users and 300 products in 5 taste clusters, ' +
    '16 latent dimensions (seed 3), sigmoid sharpened ×1.5.',
  seed: 3,
  dimensions: 16,
  clusters: 5,
  temperature: 1.5,
  shift: -0.25,
};

/** Builds the TF.js recommender and returns its archive; the same options always give the same bytes. */
export async function buildRecommenderTfjs(options: RecommenderTfjsOptions = recommenderTfjsModel): Promise<Uint8Array> {
  // TF.js needs an initialised backend before the first tensor; any backend builds the same model.
  await tf.ready();
  const weights = recommenderWeights(options);
  const d = weights.dimensions;
  const [usersName, productsName] = options.inputNames ?? ['users', 'products'];
  // Every layer is named: TF.js would otherwise number them from a process-wide counter, and
  // two builds in one process would give different bytes.
  const users = tf.input({ shape: [1], dtype: 'float32', name: usersName });
  const products = tf.input({ shape: [1], dtype: 'float32', name: productsName });
  const embed = (input: tf.SymbolicTensor, name: string, inputDim: number, outputDim: number): tf.SymbolicTensor =>
    tf.layers
      .flatten({ name: `${name}_flat` })
      .apply(tf.layers.embedding({ name, inputDim, outputDim, embeddingsInitializer: 'zeros' }).apply(input)) as tf.SymbolicTensor;
  const userVector = embed(users, 'user_embedding', userCount, d);
  const productVector = embed(products, 'product_embedding', productCount, d);
  const productBias = embed(products, 'product_bias', productCount, 1);
  const affinity = tf.layers.dot({ axes: 1, name: 'affinity' }).apply([userVector, productVector]) as tf.SymbolicTensor;
  const logit = tf.layers.add({ name: 'logit' }).apply([affinity, productBias]) as tf.SymbolicTensor;
  const predictions = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'predictions', kernelInitializer: 'zeros' }).apply(logit) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [users, products], outputs: predictions, name: options.name.replace(/-/g, '_') });
  try {
    tf.tidy(() => {
      model.getLayer('user_embedding').setWeights([tf.tensor2d(weights.users, [userCount, d])]);
      model.getLayer('product_embedding').setWeights([tf.tensor2d(weights.products, [productCount, d])]);
      model.getLayer('product_bias').setWeights([tf.tensor2d(weights.productBias, [productCount, 1])]);
      model.getLayer('predictions').setWeights([tf.tensor2d([options.temperature], [1, 1]), tf.tensor1d([options.shift])]);
    });
    model.setUserDefinedMetadata({
      sluice: {
        name: options.name,
        seed: options.seed,
        dimensions: d,
        clusters: options.clusters,
        temperature: options.temperature,
        shift: options.shift,
      },
    });
    return await saveTfjsArchive(model);
  } finally {
    model.dispose();
  }
}

/** Writes the TF.js model (`<name>.tfjs`) and its `.json` sidecar into `outDir`; returns the paths written. */
export async function writeRecommenderTfjs(outDir: string, options: RecommenderTfjsOptions = recommenderTfjsModel): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const modelPath = join(outDir, `${options.name}.tfjs`);
  const sidecarPath = join(outDir, `${options.name}.json`);
  await writeFile(modelPath, await buildRecommenderTfjs(options));
  await writeFile(sidecarPath, `${JSON.stringify({ description: options.description }, null, 2)}\n`);
  return [modelPath, sidecarPath];
}

// CLI: only when this file is the entry point, never on import.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  // Build on the WebAssembly backend, as the executor serves: TF.js's pure-JS backend would
  // print its "install tfjs-node" advice.
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  const outDir = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url));
  for (const path of await writeRecommenderTfjs(outDir)) console.log(`wrote ${path}`);
}
