/** Latency statistics: nearest-rank quantiles, summaries and CDF points for the plots. */

/** The nearest-rank `q` quantile of ascending values: the smallest value with at least a share `q` of the values at or below it. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`a quantile is between 0 and 1, not ${q}`);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Sorts `latencies` in place and summarises them. */
export function summarizeLatencies(latencies: Float64Array): LatencySummary {
  latencies.sort();
  let sum = 0;
  for (const latency of latencies) sum += latency;
  return {
    count: latencies.length,
    mean: latencies.length > 0 ? sum / latencies.length : Number.NaN,
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    max: latencies.length > 0 ? (latencies[latencies.length - 1] as number) : Number.NaN,
  };
}

/** A latency and the share of records at or below it. */
export interface CdfPoint {
  readonly latency: number;
  readonly share: number;
}

/**
 * Points of the empirical CDF of ascending values, dense in the tail where the plot's
 * interest is: shares 1 − 10^(−k·step) down to the one-in-`sorted.length` record, plus even steps.
 */
export function cdfPoints(sorted: ArrayLike<number>, evenSteps = 50): CdfPoint[] {
  if (sorted.length === 0) return [];
  const shares = new Set<number>();
  for (let i = 1; i <= evenSteps; i++) shares.add(i / evenSteps);
  for (let exponent = 1; 10 ** -exponent >= 1 / sorted.length; exponent += 0.25) shares.add(1 - 10 ** -exponent);
  return [...shares].sort((a, b) => a - b).map((share) => ({ latency: quantile(sorted, share), share }));
}

/** The median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
