import { describe, expect, it } from 'vitest';
import { accuracy, auc, binaryLabels, meanAbsoluteError, meanSquaredError } from '../../../src/serving/validation/metrics.js';
import { seededRandom } from '../../../src/util/random.js';

/** AUC by its definition: over every (positive, negative) pair, 1 when the positive scores higher, 1/2 on a tie. */
function pairwiseAuc(scores: readonly number[], labels: readonly number[]): number {
  let wins = 0;
  let pairs = 0;
  labels.forEach((l, i) => {
    if (l !== 1) return;
    labels.forEach((m, j) => {
      if (m !== 0) return;
      pairs++;
      const [p, n] = [scores[i] as number, scores[j] as number];
      wins += p > n ? 1 : p === n ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('validation metrics', () => {
  it('measures AUC from ranks, as the ROC area (scikit-learn documentation example: 0.75)', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });

  it('counts tied scores as half a win (hand count: 3.5 of 4 pairs)', () => {
    expect(auc([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])).toBe(0.875);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
  });

  it('agrees with the pairwise definition on scores full of ties', () => {
    const random = seededRandom(11);
    const scores = Array.from({ length: 400 }, () => Math.round(random() * 20) / 20);
    const labels = scores.map((s) => (random() < s ? 1 : 0));
    expect(auc(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
    expect(auc(scores, labels)).toBeGreaterThan(0.6);
  });

  it('gives 1 for a perfect ranking and 0 for an inverted one', () => {
    expect(auc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])).toBe(1);
    expect(auc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])).toBe(0);
  });

  it('measures accuracy at the decision threshold (at the threshold is class 1)', () => {
    expect(accuracy([0.2, 0.5, 0.7, 0.4], [0, 1, 1, 1], 0.5)).toBe(0.75);
    expect(accuracy([0.2, 0.5, 0.7, 0.4], [0, 1, 1, 1], 0.3)).toBe(1);
  });

  it('measures mean absolute and squared errors', () => {
    expect(meanAbsoluteError([1, 2, 4], [1, 3, 2])).toBe(1);
    expect(meanSquaredError([1, 2, 4], [1, 3, 2])).toBeCloseTo(5 / 3, 12);
  });

  it('tells binary labels apart', () => {
    expect(binaryLabels([0, 1, 1])).toBe(true);
    expect(binaryLabels([0, 2])).toBe(false);
  });

  const wrong: [string, () => number, RegExp][] = [
    ['AUC with one class only', () => auc([0.1, 0.2], [1, 1]), /AUC needs both classes, but all 2 labels are 1/],
    ['AUC with labels that are not 0/1', () => auc([0.1, 0.2], [0, 3]), /AUC needs labels 0 or 1 \(or true\/false\), but label 2 is 3/],
    ['accuracy with labels that are not 0/1', () => accuracy([0.1], [0.5], 0.5), /accuracy needs labels 0 or 1/],
    ['no pairs at all', () => meanAbsoluteError([], []), /there are no labelled values to measure/],
    ['more predictions than labels', () => meanSquaredError([1, 2], [1]), /2 predictions for 1 labels/],
    ['a NaN prediction', () => auc([0.1, Number.NaN], [0, 1]), /prediction 2 of 2 is NaN, not a finite number/],
  ];
  it.each(wrong)('refuses %s, saying why', (_what, measure, message) => {
    expect(measure).toThrow(message);
  });
});
