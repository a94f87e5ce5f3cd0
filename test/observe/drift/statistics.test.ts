/**
 * The drift statistics against values computed elsewhere. Unless a line says otherwise, an
 * expected value comes from scipy 1.17.1 (Python), computed for this test:
 * `scipy.special.gammaln`, `scipy.special.gammaincc`, `scipy.stats.chi2.sf`,
 * `scipy.stats.kstwobign.sf`, `scipy.stats.ks_2samp(...).statistic`,
 * `scipy.stats.chi2_contingency(table, correction=False)` and `numpy.quantile` (linear).
 */
import { describe, expect, it } from 'vitest';
import { chiSquaredTwoSample, countCategories } from '../../../src/observe/drift/chi-squared.js';
import { kolmogorovSmirnov } from '../../../src/observe/drift/kolmogorov-smirnov.js';
import { populationStabilityIndex, psiFromShares, PsiReference } from '../../../src/observe/drift/psi.js';
import { countBelow, quantile } from '../../../src/observe/drift/quantile.js';
import { chiSquaredSurvival, kolmogorovSurvival, logGamma, regularizedGammaP, regularizedGammaQ } from '../../../src/observe/drift/special-functions.js';
import { seededRandom } from '../../../src/util/random.js';
import { categorical, closeTo, sample, seededGaussian } from './support.js';

/** Relative agreement with a reference value, or absolute for values below 1. */
function expectClose(actual: number, expected: number, tolerance = 1e-12): void {
  expect(closeTo(actual, expected, tolerance), `${actual} vs ${expected}`).toBe(true);
}

describe('logGamma', () => {
  it.each([
    [0.1, 2.252712651734206],
    [0.5, 0.5723649429247], // ln √π
    [1, 0],
    [3.7, 1.428072326665388],
    [10, 12.801827480081469], // ln 9!
    [100.5, 361.43554046777757],
  ])('ln Γ(%d) = %d', (x, expected) => expectClose(logGamma(x), expected, 1e-13));

  it('rejects x ≤ 0', () => {
    expect(() => logGamma(0)).toThrow('logGamma needs x > 0, got 0');
  });
});

describe('regularized incomplete gamma', () => {
  it.each([
    [0.1, 0.01, 0.3373787400455204],
    [0.5, 0.3, 0.4385780260809997],
    [1, 2.5, 0.0820849986238988],
    [2.5, 1e-6, 0.9999999999999997],
    [3, 1, 0.9196986029286058],
    [3, 7.5, 0.020256715056664387],
    [10, 5, 0.9681719426937951],
    [10, 15, 0.06985366069940986],
    [50, 40, 0.9296649333406051],
    [50, 65, 0.02351239780980871],
    [100, 130, 0.002750408367306518],
    [500, 520, 0.18469114909874365],
  ])('Q(%d, %d) = %d, and P = 1 − Q', (a, x, expected) => {
    expectClose(regularizedGammaQ(a, x), expected, 1e-10);
    expectClose(regularizedGammaP(a, x), 1 - expected, 1e-10);
  });

  it('matches the closed form for whole a: Q(n, x) = e^−x Σ_{k<n} x^k / k! (by hand)', () => {
    for (const [n, x] of [
      [1, 0.7],
      [2, 3],
      [4, 2.2],
      [6, 9.5],
    ] as const) {
      let sum = 0;
      let term = 1;
      for (let k = 0; k < n; k++) {
        sum += term;
        term *= x / (k + 1);
      }
      expectClose(regularizedGammaQ(n, x), Math.exp(-x) * sum, 1e-12);
    }
  });

  it('has the right limits and rejects arguments outside its domain', () => {
    expect(regularizedGammaQ(3, 0)).toBe(1);
    expect(regularizedGammaQ(3, Infinity)).toBe(0);
    expect(() => regularizedGammaQ(0, 1)).toThrow('the incomplete gamma function needs a finite a > 0, got 0');
    expect(() => regularizedGammaQ(2, -1)).toThrow('the incomplete gamma function needs x ≥ 0, got -1');
  });

  it.each([
    // The textbook critical values (e.g. any chi-squared table): 5 % and 1 % upper tails.
    [3.841458820694124, 1, 0.05],
    [5.991464547107979, 2, 0.05],
    [11.070497693516351, 5, 0.05],
    [23.209251158954356, 10, 0.01],
    [30, 12, 0.0027924293327009145],
    [0.5, 3, 0.9188914116546758],
    [200, 150, 0.003973185970821635],
  ])('chi-squared tail P(X ≥ %d | df %d) = %d', (x, df, expected) => expectClose(chiSquaredSurvival(x, df), expected, 1e-10));
});

describe('Kolmogorov distribution', () => {
  it.each([
    [0.1, 1],
    [0.2, 0.999999999999495],
    [0.5, 0.9639452436648751],
    [1.0, 0.26999967167735456],
    [1.17, 0.12939004218561884], // the two series meet at 1.18: both sides agree with scipy
    [1.19, 0.11774229287977166],
    [1.36, 0.049485876755377876],
    [1.6276236, 0.010000000749940367],
    [2.0, 0.0006709252557796953],
    [3.0, 3.045995948942526e-8],
    [5.0, 3.8574996959278356e-22],
  ])('P(K > %d) = %d', (lambda, expected) => {
    const actual = kolmogorovSurvival(lambda);
    expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-13 + 1e-10 * expected);
  });
});

describe('two-sample Kolmogorov–Smirnov', () => {
  it('measures D as scipy does and takes the p-value from the Kolmogorov distribution with Stephens’ correction', () => {
    const a = [0.1, 0.4, 0.7, 1.2, 1.5, 2.3, 3.1];
    const b = [3.3, 0.35, 4.2, 0.9, 2.6, 1.0, 2.8, 4.0]; // any order
    const { statistic, pValue } = kolmogorovSmirnov(a, b);
    expectClose(statistic, 0.4821428571428571); // = 27/56
    // λ = (√nₑ + 0.12 + 0.11/√nₑ)·D with nₑ = 7·8/15 is 1.0168942378520907; kstwobign.sf(λ):
    expectClose(pValue, 0.2523286150431562, 1e-10);
  });

  it('handles ties: D is measured after each distinct value', () => {
    expectClose(kolmogorovSmirnov([1, 2, 2, 3, 3, 3, 4], [2, 3, 3, 5, 5]).statistic, 0.4);
  });

  it('gives D = 0, p = 1 for equal samples and D = 1 for disjoint ones', () => {
    expect(kolmogorovSmirnov([1, 2, 3], [3, 2, 1])).toEqual({ statistic: 0, pValue: 1 });
    expect(kolmogorovSmirnov([1, 2, 3], [4, 5]).statistic).toBe(1);
  });

  it('rejects an empty sample', () => {
    expect(() => kolmogorovSmirnov([], [1])).toThrow('the Kolmogorov–Smirnov test needs two non-empty samples, got 0 and 1 values');
  });

  it('holds its level: under no shift, p < 0.05 in about 5 % of 2000 tests (fixed seed)', () => {
    const gaussian = seededGaussian(11);
    let rejected = 0;
    for (let t = 0; t < 2000; t++) if (kolmogorovSmirnov(sample(100, gaussian), sample(80, gaussian)).pValue < 0.05) rejected++;
    // Binomial(2000, 0.05) has sd 0.0049: the bounds are about ±3 sd.
    expect(rejected / 2000).toBeGreaterThan(0.035);
    expect(rejected / 2000).toBeLessThan(0.065);
  });
});

describe('chi-squared test of homogeneity', () => {
  const counts = (values: Record<string, number>) => new Map(Object.entries(values));

  it('matches scipy’s chi2_contingency on a 2×3 table', () => {
    const result = chiSquaredTwoSample(counts({ a: 50, b: 30, c: 20 }), counts({ a: 35, b: 40, c: 25 }));
    expectClose(result.statistic, 4.631185807656395);
    expectClose(result.pValue, 0.09870764250999253, 1e-10);
    expect(result.degreesOfFreedom).toBe(2);
  });

  it('counts a category one side lacks', () => {
    const result = chiSquaredTwoSample(counts({ a: 400, b: 300, c: 200, d: 100 }), counts({ a: 150, b: 200, c: 150 }));
    expectClose(result.statistic, 83.37662337662337);
    expect(result.pValue).toBeLessThan(1e-17);
    expectClose(result.pValue, 5.788641935595571e-18, 1e-8);
    expect(result.degreesOfFreedom).toBe(3);
  });

  it('pools categories too rare for the approximation into one column', () => {
    // c and d expect fewer than 5 live values: they are one column, [5, 5] (scipy on [[500,495,5],[250,245,5]]).
    const result = chiSquaredTwoSample(counts({ a: 500, b: 495, c: 3, d: 2 }), counts({ a: 250, b: 245, c: 4, d: 1 }));
    expect(result.categories).toBe(3);
    expect(result.degreesOfFreedom).toBe(2);
    expectClose(result.statistic, 1.2668918918918917);
    expectClose(result.pValue, 0.5307596769625544, 1e-10);
    expect(chiSquaredTwoSample(counts({ a: 500, b: 495, c: 3, d: 2 }), counts({ a: 250, b: 245, c: 4, d: 1 }), { minExpected: 0 }).degreesOfFreedom).toBe(3);
  });

  it('gives p = 1 when there is only one category, and rejects an empty sample', () => {
    expect(chiSquaredTwoSample(counts({ a: 5 }), counts({ a: 9 }))).toMatchObject({ statistic: 0, degreesOfFreedom: 0, pValue: 1 });
    expect(() => chiSquaredTwoSample(counts({}), counts({ a: 1 }))).toThrow('the chi-squared test needs two non-empty samples, got 0 and 1 values');
  });

  it('holds its level: under no change, p < 0.05 in about 5 % of 2000 tests (fixed seed)', () => {
    const category = categorical(seededRandom(5), { a: 0.5, b: 0.3, c: 0.15, d: 0.05 });
    const draw = (n: number) => countCategories(Array.from({ length: n }, category));
    let rejected = 0;
    for (let t = 0; t < 2000; t++) if (chiSquaredTwoSample(draw(300), draw(200)).pValue < 0.05) rejected++;
    expect(rejected / 2000).toBeGreaterThan(0.035);
    expect(rejected / 2000).toBeLessThan(0.065);
  });
});

describe('population stability index', () => {
  it('sums (live − reference)·ln(live / reference) over the bins (by hand: 0.2282)', () => {
    // 0.15·ln 2.5 + 0.05·ln 1.25 + 0.05·ln 1.2 + 0.15·ln 1.6, the same as numpy's sum.
    expectClose(psiFromShares([0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]), 0.22821740957339182);
  });

  it('counts an empty bin as epsilon so the index stays finite', () => {
    expectClose(psiFromShares([0.5, 0.5, 0], [0.4, 0.4, 0.2]), 1.5640491119253044); // the third bin as 1e-4 (numpy)
  });

  it('cuts bins at the reference deciles, so each holds a tenth of the reference', () => {
    const reference = Array.from({ length: 100 }, (_, i) => i + 1);
    const psi = new PsiReference(reference);
    expect(Array.from(psi.edges)).toEqual([10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1].map((e) => expect.closeTo(e, 10)));
    expect(Array.from(psi.shares)).toEqual(new Array(10).fill(0.1));
    expect(psi.index(reference)).toBe(0);
    // Everything above the reference's range lands in the last bin (by hand): (1 − 0.1)·ln(1 / 0.1) + 9·(1e-4 − 0.1)·ln(1e-4 / 0.1).
    expectClose(psi.index([500, 600]), 0.9 * Math.log(1 / 0.1) + 9 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1), 1e-12);
  });

  it('merges bins when the reference has ties', () => {
    const reference = [...new Array(60).fill(0), ...Array.from({ length: 40 }, (_, i) => i + 1)];
    const psi = new PsiReference(reference, { bins: 10 });
    expect(psi.edges[0]).toBe(0);
    expect(new Set(psi.edges).size).toBe(psi.edges.length);
    expectClose(psi.shares[0] as number, 0.6);
  });

  it('is small for two samples of one distribution and large for a shifted one', () => {
    const gaussian = seededGaussian(3);
    const reference = sample(5000, gaussian);
    expect(populationStabilityIndex(reference, sample(5000, gaussian))).toBeLessThan(0.01);
    // A shift of one standard deviation: about 1 for a normal distribution (PSI ≈ δ² for small bins).
    expect(
      populationStabilityIndex(
        reference,
        sample(5000, () => gaussian() + 1),
      ),
    ).toBeGreaterThan(0.8);
  });

  it('rejects too few bins, a bad epsilon and empty samples', () => {
    expect(() => new PsiReference([1, 2], { bins: 1 })).toThrow('PSI needs at least 2 bins, got 1');
    expect(() => new PsiReference([1, 2], { epsilon: 0 })).toThrow("PSI's epsilon must be within (0, 1), got 0");
    expect(() => new PsiReference([])).toThrow('PSI needs a non-empty reference sample');
    expect(() => new PsiReference([1, 2]).index([])).toThrow('PSI needs a non-empty live sample');
  });
});

describe('quantiles', () => {
  it('interpolates linearly between order statistics as numpy does', () => {
    const sorted = Float64Array.from([3, 1, 4, 1, 5, 9, 2, 6]).sort();
    expect([0, 0.1, 0.25, 0.5, 0.9, 1].map((p) => quantile(sorted, p))).toEqual([1, 1, 1.75, 3.5, expect.closeTo(6.9, 12), 9]);
  });

  it('counts values below a value', () => {
    expect([0, 1, 2, 5, 10].map((v) => countBelow([1, 1, 2, 3, 9], v))).toEqual([0, 0, 2, 4, 5]);
  });

  it('rejects an empty sample and a probability outside [0, 1]', () => {
    expect(() => quantile([], 0.5)).toThrow('the quantile of an empty sample is undefined');
    expect(() => quantile([1], 1.5)).toThrow("a quantile's probability must be within [0, 1], got 1.5");
  });
});
