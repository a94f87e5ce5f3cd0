/**
 * The numbers a model's output gives for one record: what a validation gate compares with the
 * record's labels, and what serving strategies compare across models (agreement, votes,
 * confidence). One number per record (a score), or one per item (a score per product).
 */

/** Reads the predictions of one record's output; `record` is there for outputs that only make sense with their input. */
export type PredictionsOf<Data, Output> = (output: Output, record: Data) => number | readonly number[];

/**
 * The default reading: the output itself when it is a number or a list of numbers, otherwise
 * its only field that is one (e.g. `probabilities` beside a list of product names, or the one
 * output tensor of a fields adapter). Anything else needs a `predictions` function of the
 * application's, and the error says so.
 */
export function defaultPredictions(output: unknown): readonly number[] {
  const direct = numbers(output);
  if (direct) return direct;
  if (output === null || typeof output !== 'object') {
    throw new Error(`cannot read predictions from the output ${JSON.stringify(output)}: give model-serving a predictions function`);
  }
  const numeric = Object.entries(output).filter(([, value]) => numbers(value) !== undefined);
  // An empty list holds numbers as much as anything else (no products, no names): it cannot decide.
  const filled = numeric.length > 1 ? numeric.filter(([, value]) => (numbers(value) as readonly number[]).length > 0) : numeric;
  if (numeric.length > 1 && filled.length === 0) return [];
  const [only] = filled;
  if (filled.length !== 1 || only === undefined) {
    const fields = Object.keys(output).join(', ') || 'none';
    const found = filled.length === 0 ? 'none of its fields holds numbers' : `${filled.map(([k]) => k).join(' and ')} all hold numbers`;
    throw new Error(`cannot tell which field of the output holds the predictions (fields: ${fields}; ${found}): give model-serving a predictions function`);
  }
  return numbers(only[1]) as readonly number[];
}

/** Reads predictions with `read` (the application's) or the default, always as a list. */
export function predictionsWith<Data, Output>(read: PredictionsOf<Data, Output> | undefined, output: Output, record: Data): readonly number[] {
  if (!read) return defaultPredictions(output);
  const value = read(output, record);
  return typeof value === 'number' ? [value] : value;
}

function numbers(value: unknown): readonly number[] | undefined {
  if (typeof value === 'number') return [value];
  if (value instanceof Float32Array || value instanceof Float64Array) return Array.from(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value as number[];
  return undefined;
}
