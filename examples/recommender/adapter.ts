import type { ServingAdapter } from '../../src/serving/adapter.js';
import type { ModelMetadata } from '../../src/serving/executor.js';
import { tensor, type NamedTensors } from '../../src/serving/tensor.js';
import { productCount } from './models/build-models.js';
import type { RecommenderRecord, RecommenderResult, RecommenderServingOutput } from './schemas.js';

/**
 * The recommender's model contract: one row per product of a record, tensors `users` and
 * `products` float32 [n,1] (the user repeated on every row), output `predictions` [n,1].
 */
export const recommenderAdapter: ServingAdapter<RecommenderRecord, RecommenderServingOutput, RecommenderResult> = {
  check(metadata: ModelMetadata): string[] {
    const problems: string[] = [];
    const names = (specs: ModelMetadata['inputs']) => specs.map((s) => s.name).join(', ') || 'none';
    for (const input of ['users', 'products']) {
      const spec = metadata.inputs.find((s) => s.name === input);
      if (!spec) problems.push(`the model has no input '${input}' (its inputs: ${names(metadata.inputs)})`);
      else if (spec.dtype !== 'float32' || spec.shape.length !== 2)
        problems.push(`input '${input}' must be float32 [n,1], the model has ${spec.dtype} [${spec.shape.join(',')}]`);
    }
    if (!metadata.outputs.some((s) => s.name === 'predictions'))
      problems.push(`the model has no output 'predictions' (its outputs: ${names(metadata.outputs)})`);
    return problems;
  },

  reject(record: RecommenderRecord): string | undefined {
    // Gather would silently wrap a negative index around to the end of the table.
    if (!isId(record.user)) return `user id ${record.user} is not a non-negative integer`;
    const product = record.products.find((id) => !isId(id));
    return product === undefined ? undefined : `product id ${product} is not a non-negative integer`;
  },

  toInputs(records: readonly RecommenderRecord[]): NamedTensors {
    let rows = 0;
    for (const record of records) rows += record.products.length;
    const users = new Float32Array(rows);
    const products = new Float32Array(rows);
    let row = 0;
    for (const record of records) {
      for (const product of record.products) {
        users[row] = record.user;
        products[row++] = product;
      }
    }
    return { users: tensor('float32', [rows, 1], users), products: tensor('float32', [rows, 1], products) };
  },

  fromOutputs(records: readonly RecommenderRecord[], outputs: NamedTensors): RecommenderServingOutput[] {
    const predictions = outputs.predictions;
    if (!predictions || !(predictions.data instanceof Float32Array || predictions.data instanceof Float64Array)) {
      throw new Error(`the model returned no float 'predictions' (outputs: ${Object.keys(outputs).join(', ')})`);
    }
    const scores = predictions.data;
    let row = 0;
    return records.map((record) => {
      const count = record.products.length;
      const products = new Array<string>(count);
      const probabilities = new Array<number>(count);
      for (let i = 0; i < count; i++) {
        products[i] = productName(record.products[i] as number);
        probabilities[i] = scores[row + i] as number;
      }
      row += count;
      return { products, probabilities };
    });
  },

  result(record, output, metadata): RecommenderResult {
    return { inputRecord: record, modelResult: output ?? { products: [], probabilities: [] }, modelResultMetadata: metadata };
  },
};

// Product ids repeat all the time: their names are made once, not once per result.
const productNames = Array.from({ length: productCount }, (_, id) => String(id));
const productName = (id: number): string => productNames[id] ?? String(id);

function isId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 0;
}
