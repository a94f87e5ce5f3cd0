/**
 * Population stability index: how far a live sample's distribution over fixed bins moved from a
 * reference sample's, PSI = Σ (live − reference) · ln(live / reference) over the bins' shares.
 * Bins are cut at the reference's quantiles, so each holds about the same share of the reference.
 * Rule of thumb: below 0.1 stable, 0.1–0.2 a moderate shift, above 0.2 a significant one.
 */
import { countBelow, quantile, sortedCopy } from './quantile.js';

export interface PsiOptions {
  /** Bins cut at the reference's quantiles; default 10 (deciles). Ties in the reference may merge some. */
  readonly bins?: number;
  /** The share an empty bin counts with, so its logarithm stays finite; default 1e-4. */
  readonly epsilon?: number;
}

export const DEFAULT_PSI_BINS = 10;
export const DEFAULT_PSI_EPSILON = 1e-4;

/**
 * The reference side of PSI, computed once and compared with many live samples: the bin edges
 * (the reference's quantiles, repeated values dropped) and the reference's share in each bin.
 */
export class PsiReference {
  /** Upper edges of every bin but the last; a value equal to an edge falls in the bin below it. */
  readonly edges: Float64Array;
  readonly shares: Float64Array;
  private readonly epsilon: number;

  constructor(reference: ArrayLike<number>, options: PsiOptions = {}) {
    const bins = options.bins ?? DEFAULT_PSI_BINS;
    this.epsilon = options.epsilon ?? DEFAULT_PSI_EPSILON;
    if (!Number.isSafeInteger(bins) || bins < 2) throw new RangeError(`PSI needs at least 2 bins, got ${bins}`);
    if (!(this.epsilon > 0 && this.epsilon < 1)) throw new RangeError(`PSI's epsilon must be within (0, 1), got ${this.epsilon}`);
    if (reference.length === 0) throw new RangeError('PSI needs a non-empty reference sample');
    const sorted = sortedCopy(reference);
    const edges: number[] = [];
    for (let i = 1; i < bins; i++) {
      const edge = quantile(sorted, i / bins);
      // An edge at the maximum would leave an always-empty last bin.
      if (edge !== edges[edges.length - 1] && edge < (sorted[sorted.length - 1] as number)) edges.push(edge);
    }
    this.edges = Float64Array.from(edges);
    this.shares = this.binShares(sorted);
  }

  /** Each bin's share of `values`. */
  binShares(values: ArrayLike<number>): Float64Array {
    const counts = new Float64Array(this.edges.length + 1);
    for (let i = 0; i < values.length; i++) {
      const bin = countBelow(this.edges, values[i] as number);
      counts[bin] = (counts[bin] as number) + 1;
    }
    for (let b = 0; b < counts.length; b++) counts[b] = (counts[b] as number) / values.length;
    return counts;
  }

  /** PSI of a live sample against this reference. */
  index(live: ArrayLike<number>): number {
    if (live.length === 0) throw new RangeError('PSI needs a non-empty live sample');
    return psiFromShares(this.shares, this.binShares(live), this.epsilon);
  }
}

/** PSI from two distributions over the same bins (shares summing to 1); an empty bin counts as `epsilon`. */
export function psiFromShares(reference: ArrayLike<number>, live: ArrayLike<number>, epsilon = DEFAULT_PSI_EPSILON): number {
  if (reference.length !== live.length) throw new RangeError(`PSI needs the same bins on both sides, got ${reference.length} and ${live.length}`);
  let psi = 0;
  for (let b = 0; b < reference.length; b++) {
    const expected = Math.max(reference[b] as number, epsilon);
    const actual = Math.max(live[b] as number, epsilon);
    psi += (actual - expected) * Math.log(actual / expected);
  }
  return psi;
}

/** PSI of `live` against `reference`, with bins from the reference's quantiles. */
export function populationStabilityIndex(reference: ArrayLike<number>, live: ArrayLike<number>, options: PsiOptions = {}): number {
  return new PsiReference(reference, options).index(live);
}
