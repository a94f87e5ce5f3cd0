/**
 * What every attribution method shares: the model seen as a function of a feature vector, and
 * the answer — one attribution per feature, relative to a base value.
 */

/**
 * The model as a function of feature rows: `rows` holds `count` rows of features, row-major;
 * the answer holds one output value per row.
 */
export type Predict = (rows: Float64Array, count: number) => Promise<Float64Array>;

export interface Attribution {
  /** The model's output for the explained record. */
  readonly prediction: number;
  /**
   * The output the attributions are measured from: the mean output over the background
   * (KernelSHAP) or the output at the baseline (occlusion, integrated gradients).
   */
  readonly baseValue: number;
  /** One per feature, in feature order. */
  readonly attributions: Float64Array;
  /** Rows the model scored to compute it: the cost. */
  readonly evaluations: number;
}

/** Rows per model call: bounds memory and how long one call holds the event loop. */
export const DEFAULT_ROWS_PER_CALL = 16_384;

/** Each column's mean over row-major `rows` of `features` values: the usual baseline. */
export function columnMeans(rows: Float64Array, features: number): Float64Array {
  const count = checkedRowCount(rows, features);
  const means = new Float64Array(features);
  for (let r = 0; r < count; r++) for (let j = 0; j < features; j++) means[j] = (means[j] as number) + (rows[r * features + j] as number);
  for (let j = 0; j < features; j++) means[j] = (means[j] as number) / count;
  return means;
}

/** The number of rows of `features` values in `rows`; throws unless it is a whole, positive number. */
export function checkedRowCount(rows: Float64Array, features: number): number {
  const count = rows.length / features;
  if (features < 1 || !Number.isInteger(count) || count < 1) {
    throw new RangeError(`expected whole rows of ${features} features, got ${rows.length} values`);
  }
  return count;
}

/** Scores `count` rows with `predict`, at most `rowsPerCall` per call. */
export async function predictInChunks(predict: Predict, rows: Float64Array, count: number, rowsPerCall = DEFAULT_ROWS_PER_CALL): Promise<Float64Array> {
  const features = rows.length / count;
  const outputs = new Float64Array(count);
  for (let start = 0; start < count; start += rowsPerCall) {
    const end = Math.min(count, start + rowsPerCall);
    const answer = await predict(rows.subarray(start * features, end * features), end - start);
    if (answer.length !== end - start) throw new RangeError(`the model gave ${answer.length} outputs for ${end - start} rows`);
    outputs.set(answer, start);
  }
  return outputs;
}
