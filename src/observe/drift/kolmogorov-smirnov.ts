/** The two-sample Kolmogorov–Smirnov test: do two numeric samples come from the same distribution? */
import { sortedCopy } from './quantile.js';
import { kolmogorovSurvival } from './special-functions.js';

export interface KsResult {
  /** D: the largest distance between the two empirical distribution functions. */
  readonly statistic: number;
  /** Asymptotic two-sided p-value. */
  readonly pValue: number;
}

/**
 * D, and its p-value from the Kolmogorov distribution at λ = (√nₑ + 0.12 + 0.11/√nₑ)·D with
 * nₑ = nm/(n+m): Stephens' correction, which makes the asymptotic p-value close to exact from
 * about nₑ ≥ 4 (Numerical Recipes §14.3). Ties are handled: D is measured after each distinct value.
 * Pass `sorted: true` when both samples are already in ascending order.
 */
export function kolmogorovSmirnov(a: ArrayLike<number>, b: ArrayLike<number>, options: { readonly sorted?: boolean } = {}): KsResult {
  if (a.length === 0 || b.length === 0) throw new RangeError(`the Kolmogorov–Smirnov test needs two non-empty samples, got ${a.length} and ${b.length} values`);
  const x = options.sorted ? a : sortedCopy(a);
  const y = options.sorted ? b : sortedCopy(b);
  const n = x.length;
  const m = y.length;
  let i = 0;
  let j = 0;
  let statistic = 0;
  while (i < n && j < m) {
    const value = Math.min(x[i] as number, y[j] as number);
    while (i < n && x[i] === value) i++;
    while (j < m && y[j] === value) j++;
    statistic = Math.max(statistic, Math.abs(i / n - j / m));
  }
  const root = Math.sqrt((n * m) / (n + m));
  return { statistic, pValue: kolmogorovSurvival((root + 0.12 + 0.11 / root) * statistic) };
}
