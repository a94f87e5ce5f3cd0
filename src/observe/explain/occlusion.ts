/**
 * Occlusion: a feature's attribution is how much the output changes when that feature alone is
 * replaced by its baseline value, f(x) − f(x with xᵢ = baselineᵢ). It needs only M + 2 model
 * evaluations and works for any model, which makes it the fallback. For a model without
 * interactions (e.g. linear) it equals the Shapley value with that baseline; with
 * interactions the attributions need not add up to f(x) − f(baseline).
 */
import type { Attribution, Predict } from './attribution.js';

export async function occlusion(predict: Predict, x: Float64Array, baseline: Float64Array): Promise<Attribution> {
  const features = x.length;
  if (baseline.length !== features) throw new RangeError(`the baseline has ${baseline.length} features, the record ${features}`);
  // Rows: x, the baseline, then x with each feature in turn set to its baseline value.
  const count = features + 2;
  const rows = new Float64Array(count * features);
  rows.set(x, 0);
  rows.set(baseline, features);
  for (let i = 0; i < features; i++) {
    const offset = (i + 2) * features;
    rows.set(x, offset);
    rows[offset + i] = baseline[i] as number;
  }
  const outputs = await predict(rows, count);
  const prediction = outputs[0] as number;
  return {
    prediction,
    baseValue: outputs[1] as number,
    attributions: Float64Array.from({ length: features }, (_, i) => prediction - (outputs[i + 2] as number)),
    evaluations: count,
  };
}
