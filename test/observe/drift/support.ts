import { seededRandom } from '../../../src/util/random.js';

/** Standard normal draws from a seeded stream (Box–Muller), so every test run sees the same numbers. */
export function seededGaussian(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** `count` draws of `draw`. */
export function sample(count: number, draw: () => number): number[] {
  return Array.from({ length: count }, draw);
}

/** Draws categories with the given probabilities (which sum to 1). */
export function categorical(random: () => number, probabilities: Readonly<Record<string, number>>): () => string {
  const categories = Object.keys(probabilities);
  let total = 0;
  const cumulative = Object.values(probabilities).map((p) => (total += p));
  return () => {
    const u = random() * total;
    const i = cumulative.findIndex((c) => u < c);
    return categories[i < 0 ? categories.length - 1 : i] as string;
  };
}

/** Asserts |actual − expected| ≤ tolerance · max(1, |expected|). */
export function closeTo(actual: number, expected: number, tolerance = 1e-12): boolean {
  return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
}
