import { describe, expect, it } from 'vitest';
import { averageOutputs, decide } from '../../../src/serving/strategies/deciders.js';
import { keyHash } from '../../../src/serving/strategies/key-hash.js';
import { defaultPredictions } from '../../../src/serving/validation/predictions.js';

const answer = (p: number, label = `p${p}`) => ({ output: { label, score: [p] }, predictions: [p] });

describe('deciders', () => {
  it('majority: the largest group wins, averaged; a tie goes to the group with the earliest answer', () => {
    expect(decide('majority', [answer(0.9), answer(0.2), answer(0.7)], 0.5)).toEqual({ deciders: [0, 2], output: { label: 'p0.9', score: [0.8] } });
    expect(decide('majority', [answer(0.1), answer(0.9)], 0.5)).toEqual({ deciders: [0], output: { label: 'p0.1', score: [0.1] } });
    expect(decide('majority', [answer(0.1), answer(0.9), answer(0.8), answer(0.3)], 0.5).deciders).toEqual([0, 3]);
  });

  it('majority votes on every prediction of a record together', () => {
    const many = (ps: number[]) => ({ output: ps, predictions: ps });
    expect(decide('majority', [many([0.9, 0.1]), many([0.9, 0.9]), many([0.6, 0.2])], 0.5).deciders).toEqual([0, 2]);
  });

  it('confidence: furthest from the threshold on average, the earliest on a tie', () => {
    expect(decide('confidence', [answer(0.6), answer(0.05), answer(0.9)], 0.5).deciders).toEqual([1]);
    expect(decide('confidence', [answer(0.75), answer(0.25)], 0.5).deciders).toEqual([0]);
  });

  it('first and average', () => {
    expect(decide('first', [answer(0.2), answer(0.9)], 0.5)).toEqual({ deciders: [0], output: { label: 'p0.2', score: [0.2] } });
    expect(decide('average', [answer(0.2), answer(0.6)], 0.5)).toEqual({ deciders: [0, 1], output: { label: 'p0.2', score: [0.4] } });
  });

  it('refuses to vote on outputs whose predictions cannot be read', () => {
    expect(() => decide('majority', [{ output: 'x', predictions: undefined }], 0.5)).toThrow(/the majority decider needs predictions/);
    expect(() => decide('first', [], 0.5)).toThrow(/no answers/);
  });
});

describe('averageOutputs', () => {
  it('averages numbers and lists of numbers field by field, and keeps everything else from the first', () => {
    expect(
      averageOutputs([
        { products: ['1', '2'], probabilities: [0.2, 0.4], top: 1, meta: { model: 'a', weight: 2 } },
        { products: ['1', '2'], probabilities: [0.4, 0.8], top: 3, meta: { model: 'b', weight: 4 } },
      ]),
    ).toEqual({ products: ['1', '2'], probabilities: [0.30000000000000004, 0.6000000000000001], top: 2, meta: { model: 'a', weight: 3 } });
    expect(averageOutputs([new Float32Array([1, 2]), new Float32Array([3, 4])])).toEqual(new Float32Array([2, 3]));
    expect(averageOutputs([[1, 2], [1]])).toEqual([1, 2]);
    expect(averageOutputs([5])).toBe(5);
  });
});

describe('predictions', () => {
  it('reads a number, a list of numbers, or the one numeric field of an object', () => {
    expect(defaultPredictions(0.3)).toEqual([0.3]);
    expect(defaultPredictions([0.1, 0.2])).toEqual([0.1, 0.2]);
    expect(defaultPredictions({ products: ['4'], probabilities: [0.7] })).toEqual([0.7]);
    expect(defaultPredictions({ products: [], probabilities: [] })).toEqual([]);
    expect(defaultPredictions({ score: [0.25] })).toEqual([0.25]);
  });

  it('says what to do when it cannot tell', () => {
    expect(() => defaultPredictions({ a: [1], b: [2] })).toThrow(
      'cannot tell which field of the output holds the predictions (fields: a, b; a and b all hold numbers): give model-serving a predictions function',
    );
    expect(() => defaultPredictions({ verdict: 'fraud' })).toThrow(/none of its fields holds numbers/);
    expect(() => defaultPredictions('fraud')).toThrow(/cannot read predictions from the output "fraud"/);
  });
});

describe('keyHash', () => {
  it('is the same for the same key and spreads sequential keys evenly', () => {
    expect(keyHash('user-17')).toBe(keyHash('user-17'));
    const n = 10_000;
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) buckets[Math.floor(keyHash(String(i)) * 10)]! += 1;
    // Each tenth holds 1,000 ± 5 standard deviations (30).
    for (const count of buckets) expect(Math.abs(count - n / 10)).toBeLessThanOrEqual(5 * Math.sqrt(n * 0.1 * 0.9));
  });
});
