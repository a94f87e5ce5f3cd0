/**
 * The recommender's request stream, exactly as `recommender.DataIngress` generates it (same
 * PRNG, same seed, same draws in the same order), so the raw onnxruntime baseline scores the
 * very records the pipeline scores.
 */
import { productCount, userCount } from '../examples/recommender/models/build-models.js';
import type { RecommenderRecord } from '../examples/recommender/schemas.js';
import { seededRandom } from '../src/util/random.js';

/** DataIngress's default seed. */
export const DEFAULT_SEED = 42;

export function recommenderRecords(count: number, seed = DEFAULT_SEED): RecommenderRecord[] {
  const next = generator(seed);
  const records = new Array<RecommenderRecord>(count);
  for (let i = 0; i < count; i++) records[i] = next();
  return records;
}

/** Rows of the generated records `[from, to)`, regenerating the stream rather than keeping it. */
export function rowsOfRange(from: number, to: number, seed = DEFAULT_SEED): number {
  const next = generator(seed);
  let rows = 0;
  for (let i = 0; i < to; i++) {
    const record = next();
    if (i >= from) rows += record.products.length;
  }
  return rows;
}

function generator(seed: number): () => RecommenderRecord {
  const random = seededRandom(seed);
  // The expressions of DataIngress's `next()`, in the same order: user, product count, each product.
  return () => ({
    user: Math.floor(random() * userCount),
    products: Array.from({ length: 1 + Math.floor(random() * 30) }, () => Math.floor(random() * productCount)),
    datatype: 'recommender',
  });
}

/** Rows (user, product pairs) the model scores for these records. */
export function rowsOf(records: readonly RecommenderRecord[]): number {
  let rows = 0;
  for (const record of records) rows += record.products.length;
  return rows;
}
