/**
 * Integrated gradients (Sundararajan et al., 2017): attributionᵢ = (xᵢ − x'ᵢ) · ∫₀¹ ∂f/∂xᵢ(x' + α(x − x')) dα,
 * from a baseline x' to the record x. The executors here give no gradients, so they are taken
 * numerically: the path is cut into `steps` segments, and at each segment's midpoint feature i
 * moves by one segment's length (xᵢ − x'ᵢ)/steps, centred; the output change is that segment's
 * share of the integral (a midpoint rule with central differences, exact for a linear model).
 * The attributions add up to f(x) − f(x') as `steps` grows (completeness). Cost: 2·steps·M + 2 rows.
 */
import { DEFAULT_ROWS_PER_CALL, predictInChunks, type Attribution, type Predict } from './attribution.js';

export interface IntegratedGradientsOptions {
  /** Segments of the path; default 32. */
  readonly steps?: number;
  readonly rowsPerCall?: number;
}

export async function integratedGradients(
  predict: Predict,
  x: Float64Array,
  baseline: Float64Array,
  options: IntegratedGradientsOptions = {},
): Promise<Attribution> {
  const steps = options.steps ?? 32;
  const features = x.length;
  if (!Number.isSafeInteger(steps) || steps < 1) throw new RangeError(`integrated gradients need at least 1 step, got ${steps}`);
  if (baseline.length !== features) throw new RangeError(`the baseline has ${baseline.length} features, the record ${features}`);
  const delta = Float64Array.from(x, (v, i) => v - (baseline[i] as number));
  // Rows: x, the baseline, then per step and feature the point half a segment before and after the midpoint.
  const count = 2 + 2 * steps * features;
  const rows = new Float64Array(count * features);
  rows.set(x, 0);
  rows.set(baseline, features);
  for (let k = 0; k < steps; k++) {
    const alpha = (k + 0.5) / steps;
    for (let i = 0; i < features; i++) {
      const row = 2 + 2 * (k * features + i);
      for (const [offset, sign] of [
        [row * features, -1],
        [(row + 1) * features, 1],
      ] as const) {
        for (let j = 0; j < features; j++) rows[offset + j] = (baseline[j] as number) + alpha * (delta[j] as number);
        rows[offset + i] = (rows[offset + i] as number) + (sign * (delta[i] as number)) / (2 * steps);
      }
    }
  }
  const outputs = await predictInChunks(predict, rows, count, options.rowsPerCall ?? DEFAULT_ROWS_PER_CALL);
  const attributions = new Float64Array(features);
  for (let k = 0; k < steps; k++) {
    for (let i = 0; i < features; i++) {
      const row = 2 + 2 * (k * features + i);
      attributions[i] = (attributions[i] as number) + (outputs[row + 1] as number) - (outputs[row] as number);
    }
  }
  return { prediction: outputs[0] as number, baseValue: outputs[1] as number, attributions, evaluations: count };
}
