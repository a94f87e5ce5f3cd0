/**
 * KernelSHAP (Lundberg & Lee, 2017): Shapley values of the features, estimated as a weighted
 * linear regression over coalitions of features. A coalition z keeps the record's values for
 * its features and takes the others from each background row; its value v(z) is the mean output
 * over the background. The regression of v on z, weighted by the Shapley kernel
 * π(z) = (M−1) / (C(M,|z|)·|z|·(M−|z|)) and constrained so the attributions add up to
 * f(x) − E[f(background)], gives the Shapley values: exactly when every coalition is used, as an
 * estimate when `samples` (the coalition budget) is smaller than 2^M − 2.
 *
 * Sampling follows the kernel: coalition sizes whose whole population fits the budget share are
 * enumerated completely, smallest and largest first (they carry the most weight); the remaining
 * budget draws random coalitions of the middle sizes in proportion to their kernel weight, each
 * with its complement (paired sampling). The attributions always add up exactly; for a model
 * without interactions (e.g. linear) they are exact for any budget.
 */
import { solveSymmetric } from '../drift/linear-algebra.js';
import { checkedRowCount, DEFAULT_ROWS_PER_CALL, type Attribution, type Predict } from './attribution.js';

export interface KernelShapOptions {
  /** Coalitions evaluated (each costs one model row per background row); default 256. */
  readonly samples?: number;
  /** Draws the sampled coalitions; default Math.random. Pass a seeded one to repeat results. */
  readonly random?: () => number;
  readonly rowsPerCall?: number;
}

export interface Coalitions {
  /** `count` rows of M flags (1: the feature takes the record's value). */
  readonly masks: Uint8Array;
  readonly weights: Float64Array;
  readonly count: number;
}

export async function kernelShap(predict: Predict, x: Float64Array, background: Float64Array, options: KernelShapOptions = {}): Promise<Attribution> {
  const features = x.length;
  const backgroundRows = checkedRowCount(background, features);
  const rowsPerCall = Math.max(options.rowsPerCall ?? DEFAULT_ROWS_PER_CALL, backgroundRows);

  const first = new Float64Array((1 + backgroundRows) * features);
  first.set(x, 0);
  first.set(background, features);
  const firstOutputs = await predict(first, 1 + backgroundRows);
  const prediction = firstOutputs[0] as number;
  let baseValue = 0;
  for (let r = 1; r <= backgroundRows; r++) baseValue += firstOutputs[r] as number;
  baseValue /= backgroundRows;
  let evaluations = 1 + backgroundRows;
  if (features === 1) return { prediction, baseValue, attributions: Float64Array.of(prediction - baseValue), evaluations };

  const coalitions = sampleCoalitions(features, options.samples ?? 256, options.random ?? Math.random);
  const values = new Float64Array(coalitions.count);
  const perCall = Math.max(1, Math.floor(rowsPerCall / backgroundRows));
  for (let start = 0; start < coalitions.count; start += perCall) {
    const end = Math.min(coalitions.count, start + perCall);
    const rows = new Float64Array((end - start) * backgroundRows * features);
    for (let c = start; c < end; c++) {
      const mask = coalitions.masks.subarray(c * features, (c + 1) * features);
      for (let b = 0; b < backgroundRows; b++) {
        const offset = ((c - start) * backgroundRows + b) * features;
        for (let j = 0; j < features; j++) rows[offset + j] = mask[j] ? (x[j] as number) : (background[b * features + j] as number);
      }
    }
    const outputs = await predict(rows, (end - start) * backgroundRows);
    if (outputs.length !== (end - start) * backgroundRows)
      throw new RangeError(`the model gave ${outputs.length} outputs for ${(end - start) * backgroundRows} rows`);
    for (let c = start; c < end; c++) {
      let sum = 0;
      for (let b = 0; b < backgroundRows; b++) sum += outputs[(c - start) * backgroundRows + b] as number;
      values[c] = sum / backgroundRows;
    }
    evaluations += outputs.length;
  }
  return { prediction, baseValue, attributions: constrainedRegression(coalitions, values, prediction - baseValue, baseValue, features), evaluations };
}

/**
 * Weighted least squares of v(z) − base on z, under Σφ = total: the last feature's attribution is
 * eliminated as total − Σ others, so each coalition contributes the row (zᵢ − z_M) and target
 * v(z) − base − z_M · total, and the normal equations are solved for the other M − 1.
 */
function constrainedRegression(coalitions: Coalitions, values: Float64Array, total: number, base: number, features: number): Float64Array {
  const n = features - 1;
  const normal = new Float64Array(n * n);
  const right = new Float64Array(n);
  const row = new Float64Array(n);
  for (let c = 0; c < coalitions.count; c++) {
    const mask = coalitions.masks.subarray(c * features, (c + 1) * features);
    const last = mask[n] as number;
    const weight = coalitions.weights[c] as number;
    const target = (values[c] as number) - base - last * total;
    for (let i = 0; i < n; i++) row[i] = (mask[i] as number) - last;
    for (let i = 0; i < n; i++) {
      const wi = weight * (row[i] as number);
      if (wi === 0) continue;
      right[i] = (right[i] as number) + wi * target;
      for (let j = 0; j < n; j++) normal[i * n + j] = (normal[i * n + j] as number) + wi * (row[j] as number);
    }
  }
  const solved = solveSymmetric(normal, n, right);
  const attributions = new Float64Array(features);
  attributions.set(solved);
  attributions[n] = total - solved.reduce((a, b) => a + b, 0);
  return attributions;
}

/** Coalitions of `features` features for a budget of `samples`, with their regression weights (see the module comment). */
export function sampleCoalitions(features: number, samples: number, random: () => number): Coalitions {
  if (!Number.isSafeInteger(samples) || samples < 2) throw new RangeError(`KernelSHAP needs a budget of at least 2 coalitions, got ${samples}`);
  const found = new Map<string, number>();
  const masks: Uint8Array[] = [];
  const weights: number[] = [];
  const add = (mask: Uint8Array, weight: number) => {
    const key = mask.join('');
    const at = found.get(key);
    if (at !== undefined) {
      weights[at] = (weights[at] as number) + weight;
      return;
    }
    found.set(key, masks.length);
    masks.push(mask);
    weights.push(weight);
  };
  // The kernel's total weight over all coalitions of one size.
  const sizeWeight = (size: number) => (features - 1) / (size * (features - size));

  if (features <= 30 && 2 ** features - 2 <= samples) {
    for (let size = 1; size < features; size++) forEachSubset(features, size, (mask) => add(mask, sizeWeight(size) / binomial(features, size)));
    return packed(masks, weights, features);
  }
  let budget = samples;
  let remainingWeight = 0;
  for (let size = 1; size < features; size++) remainingWeight += sizeWeight(size);
  let low = 1;
  for (; low <= features - low; low++) {
    const sizes = low === features - low ? [low] : [low, features - low];
    const count = sizes.reduce((sum, size) => sum + binomial(features, size), 0);
    const weight = sizes.reduce((sum, size) => sum + sizeWeight(size), 0);
    // The small tolerance keeps rounding from refusing a size that fits exactly.
    if (count > ((budget * weight) / remainingWeight) * (1 + 1e-9)) break;
    for (const size of sizes) forEachSubset(features, size, (mask) => add(mask, sizeWeight(size) / binomial(features, size)));
    budget -= count;
    remainingWeight -= weight;
  }
  const middle = Array.from({ length: Math.max(0, features - 2 * low + 1) }, (_, i) => low + i);
  const pairs = Math.floor(budget / 2);
  if (middle.length > 0 && pairs > 0) {
    const share = remainingWeight / (2 * pairs);
    for (let p = 0; p < pairs; p++) {
      const mask = randomSubset(features, pickSize(middle, sizeWeight, remainingWeight, random()), random);
      add(mask, share);
      add(
        mask.map((v) => 1 - v),
        share,
      );
    }
  }
  return packed(masks, weights, features);
}

function packed(masks: readonly Uint8Array[], weights: readonly number[], features: number): Coalitions {
  const all = new Uint8Array(masks.length * features);
  masks.forEach((mask, i) => all.set(mask, i * features));
  return { masks: all, weights: Float64Array.from(weights), count: masks.length };
}

function pickSize(sizes: readonly number[], weightOf: (size: number) => number, total: number, draw: number): number {
  let cumulative = 0;
  for (const size of sizes) {
    cumulative += weightOf(size) / total;
    if (draw < cumulative) return size;
  }
  return sizes[sizes.length - 1] as number;
}

function randomSubset(features: number, size: number, random: () => number): Uint8Array {
  const order = Array.from({ length: features }, (_, i) => i);
  const mask = new Uint8Array(features);
  // A partial Fisher–Yates shuffle: the first `size` places hold a uniform random subset.
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (features - i));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
    mask[order[i] as number] = 1;
  }
  return mask;
}

/** Calls `visit` with the mask of every subset of `size` of `features` items. */
function forEachSubset(features: number, size: number, visit: (mask: Uint8Array) => void): void {
  const chosen = Array.from({ length: size }, (_, i) => i);
  for (;;) {
    const mask = new Uint8Array(features);
    for (const i of chosen) mask[i] = 1;
    visit(mask);
    let k = size - 1;
    while (k >= 0 && chosen[k] === features - size + k) k--;
    if (k < 0) return;
    chosen[k] = (chosen[k] as number) + 1;
    for (let i = k + 1; i < size; i++) chosen[i] = (chosen[i - 1] as number) + 1;
  }
}

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return Math.round(result);
}
