/**
 * The special functions the drift tests' p-values need: the log-gamma function, the regularized
 * incomplete gamma functions (for chi-squared tail probabilities) and the Kolmogorov
 * distribution's survival function (for Kolmogorov–Smirnov). Written from the textbook
 * definitions — series and continued fraction as Numerical Recipes (§6.1–6.2, §14.3) lays them
 * out — and checked against scipy in test/observe/drift/statistics.test.ts.
 */

const EPSILON = 1e-15;
/** Smaller than any meaningful intermediate of the continued fraction: stands in for zero there. */
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;

// Lanczos approximation, g = 7, nine coefficients: about 15 significant digits for x > 0.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  // The reflection formula keeps the approximation where it is accurate (x ≥ 0.5).
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** P(a, x) = γ(a, x) / Γ(a), the regularized lower incomplete gamma function, for a > 0, x ≥ 0. */
export function regularizedGammaP(a: number, x: number): number {
  checkGammaArguments(a, x);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Q(a, x) = Γ(a, x) / Γ(a) = 1 − P(a, x), the regularized upper incomplete gamma function. */
export function regularizedGammaQ(a: number, x: number): number {
  checkGammaArguments(a, x);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  // Each form is used where it converges fast and where subtracting from 1 loses nothing.
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

/** P(X ≥ x) for X chi-squared with `degreesOfFreedom` degrees of freedom. */
export function chiSquaredSurvival(x: number, degreesOfFreedom: number): number {
  if (!(degreesOfFreedom > 0)) throw new RangeError(`chi-squared needs positive degrees of freedom, got ${degreesOfFreedom}`);
  return x <= 0 ? 1 : regularizedGammaQ(degreesOfFreedom / 2, x / 2);
}

/**
 * P(K > λ) for the Kolmogorov distribution K, the limit of √n·D_n: the asymptotic p-value of a
 * Kolmogorov–Smirnov statistic. Two series, each used where it converges in a few terms.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) throw new RangeError('kolmogorovSurvival needs a number, got NaN');
  if (lambda <= 0) return 1;
  if (lambda < 1.18) {
    // P(K ≤ λ) = √(2π)/λ · Σ_{j≥1} exp(−(2j−1)²π²/(8λ²)).
    const q = Math.exp((-Math.PI * Math.PI) / (8 * lambda * lambda));
    let sum = 0;
    for (let j = 1; j <= 20; j++) {
      const term = q ** ((2 * j - 1) ** 2);
      sum += term;
      if (term < EPSILON * sum) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum;
  }
  // P(K > λ) = 2 Σ_{j≥1} (−1)^{j−1} exp(−2j²λ²).
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += j % 2 === 1 ? term : -term;
    if (term < EPSILON * Math.abs(sum)) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** e^{−x} x^a / Γ(a), the factor both forms share, computed in logs so large a and x do not overflow. */
function gammaPrefactor(a: number, x: number): number {
  return Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** P(a, x) by its power series, Σ_n x^n / (a (a+1) … (a+n)); converges fast for x < a + 1. */
function gammaSeries(a: number, x: number): number {
  let denominator = a;
  let term = 1 / a;
  let sum = term;
  for (let n = 0; n < MAX_ITERATIONS; n++) {
    denominator += 1;
    term *= x / denominator;
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) return sum * gammaPrefactor(a, x);
  }
  throw new RangeError(`the incomplete gamma series did not converge for a=${a}, x=${x}`);
}

/** Q(a, x) by its continued fraction, evaluated with the modified Lentz method; converges fast for x ≥ a + 1. */
function gammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let fraction = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    fraction *= delta;
    if (Math.abs(delta - 1) < EPSILON) return fraction * gammaPrefactor(a, x);
  }
  throw new RangeError(`the incomplete gamma continued fraction did not converge for a=${a}, x=${x}`);
}

function checkGammaArguments(a: number, x: number): void {
  if (!(a > 0) || !Number.isFinite(a)) throw new RangeError(`the incomplete gamma function needs a finite a > 0, got ${a}`);
  if (!(x >= 0)) throw new RangeError(`the incomplete gamma function needs x ≥ 0, got ${x}`);
}
