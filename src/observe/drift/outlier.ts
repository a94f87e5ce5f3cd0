/**
 * Per-record outlier scores: how far a record's numeric features lie from a reference sample.
 *
 * - `mahalanobis`: the Mahalanobis distance under the reference's correlation (features
 *   standardized by the reference's mean and standard deviation; the correlation matrix shrunk
 *   toward the identity by `shrinkage`, which keeps it invertible with few or collinear
 *   records). It sees a record that breaks the features' usual relations, even when every
 *   feature alone looks ordinary — what fraud often does.
 * - `robust-z`: the root mean square of per-feature robust z-scores (median, and 1.4826 × the
 *   median absolute deviation), for features with heavy tails or few reference records.
 *
 * A score is normalized by the reference's own scores: `referenceQuantile` is the share of
 * reference records that score lower, and a record is an outlier above the reference's
 * `thresholdQuantile` quantile.
 */
import { cholesky, solveLower } from './linear-algebra.js';
import { countBelow, quantile, sortedCopy } from './quantile.js';

export const outlierMethods = ['mahalanobis', 'robust-z'] as const;
export type OutlierMethod = (typeof outlierMethods)[number];

export interface OutlierOptions {
  /** Default `mahalanobis`. */
  readonly method?: OutlierMethod;
  /** Quantile of the reference's scores above which a record is an outlier; default 0.999. */
  readonly thresholdQuantile?: number;
  /** Weight of the identity in the shrunk correlation matrix (mahalanobis), within [0, 1]; default 0.01. */
  readonly shrinkage?: number;
}

export interface OutlierScore {
  readonly score: number;
  /** Share of the reference's records with a lower score, in [0, 1]. */
  readonly referenceQuantile: number;
  readonly outlier: boolean;
  /** Each feature's distance from the reference's centre, in (robust) standard deviations, signed. */
  readonly deviations: Float64Array;
}

const MAD_TO_SD = 1.4826;

export class OutlierModel {
  readonly method: OutlierMethod;
  readonly features: number;
  /** Scores above this are outliers. */
  readonly threshold: number;
  private readonly centre: Float64Array;
  private readonly scale: Float64Array;
  /** Cholesky factor of the shrunk correlation matrix (mahalanobis only). */
  private readonly lower: Float64Array | undefined;
  private readonly referenceScores: Float64Array;

  /** Fits the model to `rows`, a row-major [count, features] reference sample. */
  constructor(rows: Float64Array, features: number, options: OutlierOptions = {}) {
    this.method = options.method ?? 'mahalanobis';
    const thresholdQuantile = options.thresholdQuantile ?? 0.999;
    const shrinkage = options.shrinkage ?? 0.01;
    if (!outlierMethods.includes(this.method)) throw new RangeError(`unknown outlier method ${String(this.method)} (methods: ${outlierMethods.join(', ')})`);
    if (!(thresholdQuantile > 0 && thresholdQuantile <= 1)) throw new RangeError(`thresholdQuantile must be within (0, 1], got ${thresholdQuantile}`);
    if (!(shrinkage >= 0 && shrinkage <= 1)) throw new RangeError(`shrinkage must be within [0, 1], got ${shrinkage}`);
    if (!Number.isSafeInteger(features) || features < 1) throw new RangeError(`an outlier model needs at least one feature, got ${features}`);
    const count = rows.length / features;
    if (!Number.isInteger(count) || count < 2)
      throw new RangeError(`an outlier model needs at least 2 reference rows of ${features} features, got ${rows.length} values`);
    this.features = features;
    const columns = Array.from({ length: features }, (_, j) => sortedCopy(Array.from({ length: count }, (_, r) => rows[r * features + j] as number)));
    this.centre = new Float64Array(features);
    this.scale = new Float64Array(features);
    columns.forEach((column, j) => {
      const [centre, scale] = this.method === 'mahalanobis' ? meanAndDeviation(column) : medianAndRobustDeviation(column);
      this.centre[j] = centre;
      this.scale[j] = scale;
    });
    this.lower = this.method === 'mahalanobis' ? shrunkCorrelationFactor(this.standardizeAll(rows, count), count, features, shrinkage) : undefined;
    const scores = new Float64Array(count);
    for (let r = 0; r < count; r++) scores[r] = this.distance(this.standardize(rows.subarray(r * features, (r + 1) * features)));
    this.referenceScores = scores.sort();
    this.threshold = quantile(this.referenceScores, thresholdQuantile);
  }

  score(row: ArrayLike<number>): OutlierScore {
    if (row.length !== this.features) throw new RangeError(`the outlier model takes ${this.features} features, got ${row.length}`);
    const deviations = this.standardize(row);
    const score = this.distance(deviations);
    return { score, referenceQuantile: countBelow(this.referenceScores, score) / this.referenceScores.length, outlier: score > this.threshold, deviations };
  }

  private standardize(row: ArrayLike<number>): Float64Array {
    const z = new Float64Array(this.features);
    for (let j = 0; j < this.features; j++) z[j] = ((row[j] as number) - (this.centre[j] as number)) / (this.scale[j] as number);
    return z;
  }

  private standardizeAll(rows: Float64Array, count: number): Float64Array {
    const z = new Float64Array(count * this.features);
    for (let r = 0; r < count; r++) z.set(this.standardize(rows.subarray(r * this.features, (r + 1) * this.features)), r * this.features);
    return z;
  }

  private distance(z: Float64Array): number {
    if (!this.lower) {
      let sum = 0;
      for (const v of z) sum += v * v;
      return Math.sqrt(sum / z.length);
    }
    // d² = zᵀ R⁻¹ z = |L⁻¹ z|² with R = L Lᵀ.
    let sum = 0;
    for (const v of solveLower(this.lower, this.features, z)) sum += v * v;
    return Math.sqrt(sum);
  }
}

function meanAndDeviation(sorted: Float64Array): [number, number] {
  let mean = 0;
  for (const v of sorted) mean += v;
  mean /= sorted.length;
  let squares = 0;
  for (const v of sorted) squares += (v - mean) ** 2;
  const deviation = Math.sqrt(squares / (sorted.length - 1));
  // A constant feature carries no information; scale 1 keeps it from dividing by zero.
  return [mean, deviation > 0 ? deviation : 1];
}

function medianAndRobustDeviation(sorted: Float64Array): [number, number] {
  const median = quantile(sorted, 0.5);
  const mad = quantile(sortedCopy(Array.from(sorted, (v) => Math.abs(v - median))), 0.5);
  if (mad > 0) return [median, MAD_TO_SD * mad];
  // More than half the values equal: fall back to the standard deviation.
  return [median, meanAndDeviation(sorted)[1]];
}

/** Cholesky factor of (1 − λ)·R + λ·I for the correlation R of standardized rows; λ grows until it factors. */
function shrunkCorrelationFactor(z: Float64Array, count: number, features: number, shrinkage: number): Float64Array {
  const correlation = new Float64Array(features * features);
  for (let r = 0; r < count; r++) {
    const offset = r * features;
    for (let i = 0; i < features; i++) {
      const zi = z[offset + i] as number;
      for (let j = 0; j <= i; j++) correlation[i * features + j] = (correlation[i * features + j] as number) + zi * (z[offset + j] as number);
    }
  }
  for (let i = 0; i < features; i++) {
    for (let j = 0; j <= i; j++) {
      const value = (correlation[i * features + j] as number) / (count - 1);
      correlation[i * features + j] = value;
      correlation[j * features + i] = value;
    }
  }
  for (let lambda = shrinkage; ; lambda = Math.min(1, Math.max(lambda * 10, 1e-6))) {
    const shrunk = correlation.map((v, k) => (1 - lambda) * v + (k % (features + 1) === 0 ? lambda : 0));
    const lower = cholesky(shrunk, features);
    if (lower) return lower;
    if (lambda >= 1) throw new RangeError('the reference correlation matrix cannot be factored');
  }
}
