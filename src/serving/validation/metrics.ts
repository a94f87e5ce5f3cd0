/**
 * The quality measures a validation gate checks a model with, over paired predictions and
 * labels (one pair per labelled value). Pure functions: each throws a RangeError whose message
 * says why the pairs do not allow the measure (no pairs, labels that are not 0/1, one class only).
 */

/** Share of predictions on the right side of `threshold`: a prediction at or above it means class 1. Labels must be 0 or 1. */
export function accuracy(predictions: readonly number[], labels: readonly number[], threshold: number): number {
  checkPairs(predictions, labels);
  checkBinary(labels, 'accuracy');
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (((predictions[i] as number) >= threshold ? 1 : 0) === labels[i]) right++;
  return right / labels.length;
}

/**
 * Area under the ROC curve, from ranks (the Mann–Whitney U statistic over the number of
 * positive/negative pairs): the probability that a random positive scores above a random
 * negative. Tied scores share their average rank, so a tie counts one half. Labels must be 0
 * or 1, with both present.
 */
export function auc(scores: readonly number[], labels: readonly number[]): number {
  checkPairs(scores, labels);
  checkBinary(labels, 'AUC');
  const positives = labels.reduce((n, label) => n + label, 0);
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new RangeError(`AUC needs both classes, but all ${labels.length} labels are ${positives === 0 ? 0 : 1}`);
  }
  const order = scores.map((_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positiveRanks = 0;
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && scores[order[end] as number] === scores[order[start] as number]) end++;
    // Ranks start..end-1 (1-based: start+1..end) are tied: each gets their mean.
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (labels[order[k] as number] === 1) positiveRanks += rank;
    start = end;
  }
  return (positiveRanks - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function meanAbsoluteError(predictions: readonly number[], labels: readonly number[]): number {
  checkPairs(predictions, labels);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += Math.abs((predictions[i] as number) - (labels[i] as number));
  return sum / labels.length;
}

export function meanSquaredError(predictions: readonly number[], labels: readonly number[]): number {
  checkPairs(predictions, labels);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += ((predictions[i] as number) - (labels[i] as number)) ** 2;
  return sum / labels.length;
}

/** True when every label is 0 or 1: the labels of a binary classifier. */
export function binaryLabels(labels: readonly number[]): boolean {
  return labels.every((label) => label === 0 || label === 1);
}

function checkPairs(predictions: readonly number[], labels: readonly number[]): void {
  if (labels.length === 0) throw new RangeError('there are no labelled values to measure');
  if (predictions.length !== labels.length) throw new RangeError(`${predictions.length} predictions for ${labels.length} labels`);
  const bad = predictions.findIndex((p) => !Number.isFinite(p));
  if (bad >= 0) throw new RangeError(`prediction ${bad + 1} of ${predictions.length} is ${predictions[bad]}, not a finite number`);
}

function checkBinary(labels: readonly number[], measure: string): void {
  const bad = labels.findIndex((label) => label !== 0 && label !== 1);
  if (bad >= 0) throw new RangeError(`${measure} needs labels 0 or 1 (or true/false), but label ${bad + 1} is ${labels[bad]}`);
}
