/**
 * The recommender's request stream, exactly as `recommender.DataIngress` generates it (same
 * PRNG, same seed, same draws in the same order): the bench's recommender workload cycles
 * through its first records.
 */
import { productCount, userCount } from '../examples/recommender/models/build-models.js';
import type { RecommenderRecord } from '../examples/recommender/schemas.js';
import { seededRandom } from '../src/util/random.js';

/** DataIngress's default seed. */
export const DEFAULT_SEED = 42;

export function recommenderRecords(count: number, seed = DEFAULT_SEED): RecommenderRecord[] {
  const next = recordGenerator(seed);
  const records = new Array<RecommenderRecord>(count);
  for (let i = 0; i < count; i++) records[i] = next();
  return records;
}

/** The generator itself: each call returns the stream's next record, with the plain loops of DataIngress's `next()`. */
function recordGenerator(seed = DEFAULT_SEED): () => RecommenderRecord {
  const random = seededRandom(seed);
  // The expressions of DataIngress's `next()`, in the same order: user, product count, each product.
  return () => {
    const user = Math.floor(random() * userCount);
    const products = new Array<number>(1 + Math.floor(random() * 30));
    for (let i = 0; i < products.length; i++) products[i] = Math.floor(random() * productCount);
    return { user, products, datatype: 'recommender' };
  };
}

/** Rows (user, product pairs) the model scores for these records. */
export function rowsOf(records: readonly RecommenderRecord[]): number {
  let rows = 0;
  for (const record of records) rows += record.products.length;
  return rows;
}
