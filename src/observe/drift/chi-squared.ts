/**
 * The chi-squared test of homogeneity for a categorical feature: do a reference sample and a live
 * sample have the same distribution over categories? A 2×K contingency table, statistic
 * Σ (observed − expected)² / expected, K − 1 degrees of freedom.
 */
import { chiSquaredSurvival } from './special-functions.js';

export interface ChiSquaredResult {
  readonly statistic: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** Columns of the table after rare categories were pooled. */
  readonly categories: number;
}

export interface ChiSquaredOptions {
  /**
   * Categories whose expected count is below this on either side are pooled into one column, as
   * the test's approximation needs (Cochran's rule); default 5. 0 keeps every category.
   */
  readonly minExpected?: number;
}

export const DEFAULT_MIN_EXPECTED = 5;

/** Counts per category in the reference and the live sample; a category only one side has counts 0 on the other. */
export function chiSquaredTwoSample(
  reference: ReadonlyMap<string, number>,
  live: ReadonlyMap<string, number>,
  options: ChiSquaredOptions = {},
): ChiSquaredResult {
  const minExpected = options.minExpected ?? DEFAULT_MIN_EXPECTED;
  const referenceTotal = sum(reference.values());
  const liveTotal = sum(live.values());
  if (referenceTotal <= 0 || liveTotal <= 0) {
    throw new RangeError(`the chi-squared test needs two non-empty samples, got ${referenceTotal} and ${liveTotal} values`);
  }
  const total = referenceTotal + liveTotal;
  const smaller = Math.min(referenceTotal, liveTotal);
  const columns: [number, number][] = [];
  const pooled: [number, number] = [0, 0];
  for (const category of new Set([...reference.keys(), ...live.keys()])) {
    const column: [number, number] = [reference.get(category) ?? 0, live.get(category) ?? 0];
    if (column[0] + column[1] === 0) continue;
    // The smaller sample has the smaller expected count in every column.
    if (((column[0] + column[1]) * smaller) / total < minExpected) {
      pooled[0] += column[0];
      pooled[1] += column[1];
    } else {
      columns.push(column);
    }
  }
  if (pooled[0] + pooled[1] > 0) columns.push(pooled);
  const degreesOfFreedom = columns.length - 1;
  if (degreesOfFreedom < 1) return { statistic: 0, degreesOfFreedom: 0, pValue: 1, categories: columns.length };
  let statistic = 0;
  for (const [inReference, inLive] of columns) {
    const columnTotal = inReference + inLive;
    const expectedReference = (columnTotal * referenceTotal) / total;
    const expectedLive = (columnTotal * liveTotal) / total;
    statistic += (inReference - expectedReference) ** 2 / expectedReference + (inLive - expectedLive) ** 2 / expectedLive;
  }
  return { statistic, degreesOfFreedom, pValue: chiSquaredSurvival(statistic, degreesOfFreedom), categories: columns.length };
}

/** How often each value occurs. */
export function countCategories(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
