/**
 * How speculative scoring picks one answer for a record from the answers of several models.
 * Pure functions over the answers (in the order the decider should prefer them on a tie: the
 * primary first, then the candidates; for `first`, the order they arrived in).
 */
import type { DeciderName } from './settings.js';

export interface ModelAnswer {
  readonly output: unknown;
  /** The output's predictions; undefined when they cannot be read (only `first` and `average` do without). */
  readonly predictions: readonly number[] | undefined;
}

export interface Decision {
  /** Indices of the answers that decided. */
  readonly deciders: readonly number[];
  /** The output to emit. */
  readonly output: unknown;
}

/**
 * - `first`: the first answer.
 * - `confidence`: the answer furthest, on average over its predictions, from the decision threshold.
 * - `average`: every answer, averaged field by field (see {@link averageOutputs}).
 * - `majority`: the largest group of answers that put every prediction on the same side of the
 *   threshold, averaged; a tie goes to the group holding the earliest answer.
 */
export function decide(decider: DeciderName, answers: readonly ModelAnswer[], threshold: number): Decision {
  if (answers.length === 0) throw new RangeError('no answers to decide between');
  switch (decider) {
    case 'first':
      return { deciders: [0], output: answers[0]?.output };
    case 'average':
      return { deciders: answers.map((_, i) => i), output: averageOutputs(answers.map((a) => a.output)) };
    case 'confidence': {
      const confidence = answers.map((a) => {
        const p = predictionsOf(a, decider);
        return p.length === 0 ? 0 : p.reduce((sum, v) => sum + Math.abs(v - threshold), 0) / p.length;
      });
      const best = confidence.reduce((top, c, i) => (c > (confidence[top] as number) ? i : top), 0);
      return { deciders: [best], output: answers[best]?.output };
    }
    case 'majority': {
      const groups = new Map<string, number[]>();
      answers.forEach((a, i) => {
        const vote = predictionsOf(a, decider)
          .map((v) => (v >= threshold ? '1' : '0'))
          .join('');
        groups.set(vote, [...(groups.get(vote) ?? []), i]);
      });
      // Map order is first-seen order, so on equal sizes the group with the earliest answer stays.
      let winner: number[] = [];
      for (const members of groups.values()) if (members.length > winner.length) winner = members;
      return { deciders: winner, output: averageOutputs(winner.map((i) => answers[i]?.output)) };
    }
  }
}

/**
 * Outputs averaged field by field: numbers and equally long lists of numbers become their mean,
 * objects are averaged per field, and anything else (names, labels, lists of strings) is taken
 * from the first output. The result has the shape of the first output.
 */
export function averageOutputs(outputs: readonly unknown[]): unknown {
  const [first] = outputs;
  if (outputs.length <= 1) return first;
  if (typeof first === 'number') {
    return outputs.every((o) => typeof o === 'number') ? (outputs as number[]).reduce((a, b) => a + b, 0) / outputs.length : first;
  }
  if (isNumberList(first)) {
    const lists = outputs.filter(isNumberList);
    if (lists.length !== outputs.length || lists.some((l) => l.length !== first.length)) return first;
    return first.map((_: number, i: number) => lists.reduce((sum, l) => sum + (l[i] as number), 0) / lists.length);
  }
  if (isPlainObject(first) && outputs.every(isPlainObject)) {
    return Object.fromEntries(Object.keys(first).map((key) => [key, averageOutputs(outputs.map((o) => (o as Record<string, unknown>)[key]))]));
  }
  return first;
}

type NumberList = readonly number[] | Float32Array | Float64Array;

function isNumberList(value: unknown): value is NumberList {
  if (value instanceof Float32Array || value instanceof Float64Array) return true;
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function predictionsOf(answer: ModelAnswer, decider: DeciderName): readonly number[] {
  if (answer.predictions === undefined) throw new RangeError(`the ${decider} decider needs predictions, and this output gives none that can be read`);
  return answer.predictions;
}
