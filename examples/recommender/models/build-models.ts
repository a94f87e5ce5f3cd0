/**
 * Builds the recommender example's ONNX models, in TypeScript, from seeded random numbers.
 *
 * The model contract (what the model-serving streamlet relies on): inputs `users` and
 * `products`, each float32 [n,1]; output `predictions`, float32 [n,1], one score in (0,1)
 * per row. The graph is a matrix-factorization scorer:
 *
 *   predictions = Sigmoid( ReduceSum( Gather(U, users) * Gather(P, products), last axis )
 *                          + Gather(bias, products) )
 *
 * The embeddings are constructed, not trained: users and products belong to a few hidden
 * "taste clusters" (orthogonal directions in the latent space), so a user scores products of
 * their own cluster high and others low. Two seeds give two visibly different models, which
 * is what a model swap in the example needs to show.
 *
 * Run directly to write the model files:
 *   npx tsx examples/recommender/models/build-models.ts [outDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeModel, float32Initializer, int64Initializer, intAttr, node, onnxElementType, valueInfo } from '../../../src/serving/onnx-builder.js';
import { seededRandom } from '../../../src/util/random.js';

/** Users are ids in [0, userCount), products in [0, productCount), as the data generator makes them. */
export const userCount = 1000;
export const productCount = 300;

export interface RecommenderModelOptions {
  readonly name: string;
  readonly seed: number;
  /** Latent dimensions per embedding; default 8. */
  readonly dimensions?: number;
  /** Hidden taste clusters; default 4, at most `dimensions`. */
  readonly clusters?: number;
  /** Default `['users', 'products']`; tests pass other names to build a model that does not fit. */
  readonly inputNames?: readonly [string, string];
}

export interface RecommenderWeights {
  readonly dimensions: number;
  /** [userCount, dimensions], row-major. */
  readonly users: Float32Array;
  /** [productCount, dimensions], row-major. */
  readonly products: Float32Array;
  /** [productCount]: how popular a product is regardless of taste. */
  readonly productBias: Float32Array;
}

/** The embeddings a model with these options holds; the same options always give the same weights. */
export function recommenderWeights(options: Omit<RecommenderModelOptions, 'name' | 'inputNames'>): RecommenderWeights {
  const dimensions = options.dimensions ?? 8;
  const clusters = options.clusters ?? 4;
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
  if (!Number.isInteger(clusters) || clusters < 1 || clusters > dimensions) {
    throw new RangeError(`clusters must be an integer in [1, ${dimensions}], got ${clusters}`);
  }
  const random = seededRandom(options.seed);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

  // Orthogonal cluster directions: same-cluster dot products are large, cross-cluster ones near 0.
  const centroids = orthonormalRows(clusters, dimensions, gaussian);
  const strength = 1.6;
  const noise = 0.3;

  const embed = (count: number, weight: () => number): Float32Array => {
    const rows = new Float32Array(count * dimensions);
    for (let r = 0; r < count; r++) {
      const centroid = centroids[Math.floor(random() * clusters)] ?? [];
      const w = weight();
      for (let j = 0; j < dimensions; j++) rows[r * dimensions + j] = strength * w * (centroid[j] ?? 0) + noise * gaussian();
    }
    return rows;
  };
  // Users differ in how strongly they hold their taste; products are all clear members of theirs.
  const users = embed(userCount, () => 0.5 + 0.7 * random());
  const products = embed(productCount, () => 1);
  const productBias = new Float32Array(productCount);
  for (let p = 0; p < productCount; p++) productBias[p] = -1 + 0.5 * gaussian();
  return { dimensions, users, products, productBias };
}

/**
 * The model's score for one (user, product) pair, computed in plain JS from the weights: an
 * independent second method that tests compare onnxruntime's output against.
 */
export function scoreReference(weights: RecommenderWeights, user: number, product: number): number {
  const d = weights.dimensions;
  let dot = 0;
  for (let j = 0; j < d; j++) dot += (weights.users[user * d + j] ?? NaN) * (weights.products[product * d + j] ?? NaN);
  return 1 / (1 + Math.exp(-(dot + (weights.productBias[product] ?? NaN))));
}

/** Builds the ONNX model (opset 13, IR 8) for these options and returns its bytes. */
export function buildRecommenderModel(options: RecommenderModelOptions): Uint8Array {
  const weights = recommenderWeights(options);
  const [usersIn, productsIn] = options.inputNames ?? ['users', 'products'];
  const d = weights.dimensions;
  return encodeModel(
    {
      name: options.name,
      docString: `recommender ${options.name}: sigmoid(user·product + bias), ${d} latent dimensions`,
      inputs: [valueInfo(usersIn, 'float32', ['batch', 1]), valueInfo(productsIn, 'float32', ['batch', 1])],
      outputs: [valueInfo('predictions', 'float32', ['batch', 1])],
      initializers: [
        float32Initializer('user_embeddings', [userCount, d], weights.users),
        float32Initializer('product_embeddings', [productCount, d], weights.products),
        float32Initializer('product_bias', [productCount], weights.productBias),
        int64Initializer('last_axis', [1], [-1]),
      ],
      nodes: [
        // Ids arrive as floats (the reference contract); Gather needs integer indices.
        node('Cast', [usersIn], ['user_ids'], [intAttr('to', onnxElementType.int64)]),
        node('Cast', [productsIn], ['product_ids'], [intAttr('to', onnxElementType.int64)]),
        node('Gather', ['user_embeddings', 'user_ids'], ['user_vectors'], [intAttr('axis', 0)]), // [n,1,d]
        node('Gather', ['product_embeddings', 'product_ids'], ['product_vectors'], [intAttr('axis', 0)]), // [n,1,d]
        node('Mul', ['user_vectors', 'product_vectors'], ['elementwise_products']),
        node('ReduceSum', ['elementwise_products', 'last_axis'], ['affinity'], [intAttr('keepdims', 0)]), // [n,1]
        node('Gather', ['product_bias', 'product_ids'], ['bias'], [intAttr('axis', 0)]), // [n,1]
        node('Add', ['affinity', 'bias'], ['logits']),
        node('Sigmoid', ['logits'], ['predictions']),
      ],
    },
    { docString: `Sluice example recommender model ${options.name} (seed ${options.seed})`, metadata: { seed: String(options.seed) } },
  );
}

/** The two models the recommender example ships and swaps between. */
export const recommenderModels: readonly (RecommenderModelOptions & { readonly description: string })[] = [
  {
    name: 'recommender-a',
    seed: 1,
    dimensions: 8,
    clusters: 4,
    description: 'Recommender A: embeddings of 1000 users and 300 products in 4 taste clusters, 8 latent dimensions (seed 1).',
  },
  {
    name: 'recommender-b',
    seed: 2,
    dimensions: 12,
    clusters: 6,
    description: 'Recommender B: embeddings of 1000 users and 300 products in 6 taste clusters, 12 latent dimensions (seed 2).',
  },
];

/** Writes every example model and its `.json` sidecar into `outDir`; returns the paths written. */
export async function writeRecommenderModels(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const model of recommenderModels) {
    const modelPath = join(outDir, `${model.name}.onnx`);
    const sidecarPath = join(outDir, `${model.name}.json`);
    await writeFile(modelPath, buildRecommenderModel(model));
    await writeFile(sidecarPath, `${JSON.stringify({ description: model.description }, null, 2)}\n`);
    written.push(modelPath, sidecarPath);
  }
  return written;
}

/** `count` random orthonormal rows of length `dimensions` (Gram–Schmidt over Gaussian draws). */
function orthonormalRows(count: number, dimensions: number, gaussian: () => number): number[][] {
  const rows: number[][] = [];
  while (rows.length < count) {
    const v = Array.from({ length: dimensions }, gaussian);
    for (const u of rows) {
      const proj = dot(u, v);
      for (let j = 0; j < dimensions; j++) v[j] = (v[j] ?? 0) - proj * (u[j] ?? 0);
    }
    const norm = Math.sqrt(dot(v, v));
    if (norm > 1e-6) rows.push(v.map((x) => x / norm)); // a degenerate draw is simply redrawn
  }
  return rows;
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);
}

// CLI: only when this file is the entry point, never on import.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url));
  for (const path of await writeRecommenderModels(outDir)) console.log(`wrote ${path}`);
}
