import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecommenderResult } from '../../../examples/recommender/schemas.js';
import type { ModelDescriptor } from '../../../src/serving/descriptor.js';
import { directOutputs, install, Latch, model, recommenderServing, servingState, singleProductRecord, SLOW, startServing, stopAll } from './support.js';

afterEach(stopAll);

const results = (values: readonly unknown[]) => values as readonly RecommenderResult[];
const names = ['recommender-a', 'recommender-b', 'recommender-c'] as const;
const records = Array.from({ length: 300 }, (_, i) => singleProductRecord(i));
/** Each model's own score for each record (one product per record), in model order a, b, c. */
let scores: number[][];

beforeAll(async () => {
  const outputs = await Promise.all(names.map((name) => directOutputs(model(name), records)));
  scores = records.map((_, i) => outputs.map((o) => o[i]?.probabilities[0] as number));
});

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function speculate(config: Record<string, unknown>, primary: ModelDescriptor = model('recommender-a'), latch?: Latch) {
  const h = await startServing(
    { strategy: 'speculative', candidates: 'recommender-b,recommender-c', 'max-candidates': 2, ...config },
    latch ? { serving: recommenderServing({}, latch) } : {},
  );
  await install(h, primary);
  await install(h, model('recommender-b'));
  await install(h, model('recommender-c'));
  return h;
}

async function decideAll(config: Record<string, unknown>): Promise<readonly RecommenderResult[]> {
  const h = await speculate(config);
  await h.send('in-0', records);
  await h.until(() => h.outputs('out').length === records.length);
  const out = results(h.outputs('out'));
  expect(out.map((r) => r.inputRecord)).toEqual(records);
  expect(out.every((r) => r.modelResultMetadata.errors === '')).toBe(true);
  return out;
}

describe('speculative strategy', () => {
  it('the models disagree on many records (what makes the deciders below tell anything)', () => {
    const split = scores.filter((s) => new Set(s.map((p) => p >= 0.5)).size === 2).length;
    expect(split).toBeGreaterThan(records.length / 4);
  });

  it('majority: the largest group of models that decide alike, averaged, names them', async () => {
    const out = await decideAll({ 'speculative-decider': 'majority' });
    const winners = new Map<string, number>();
    out.forEach((r, i) => {
      const s = scores[i] as number[];
      const votes = s.map((p) => p >= 0.5);
      const yes = votes.filter(Boolean).length;
      const side = yes >= 2;
      const group = names.filter((_, k) => votes[k] === side);
      expect(r.modelResultMetadata.modelName).toBe(group.join('+'));
      expect(r.modelResultMetadata.source).toBe('speculative majority of recommender-a, recommender-b, recommender-c');
      expect(r.modelResult.probabilities[0]).toBeCloseTo(mean(group.map((name) => s[names.indexOf(name)] as number)), 12);
      winners.set(group.join('+'), (winners.get(group.join('+')) ?? 0) + 1);
    });
    // Outvoted primaries happen: the majority is not just "the primary".
    expect(winners.get('recommender-b+recommender-c')).toBeGreaterThan(0);
    expect(winners.get('recommender-a+recommender-b+recommender-c')).toBeGreaterThan(0);
  });

  it('average: every model, averaged', async () => {
    const out = await decideAll({ 'speculative-decider': 'average' });
    out.forEach((r, i) => {
      expect(r.modelResultMetadata.modelName).toBe('recommender-a+recommender-b+recommender-c');
      expect(r.modelResult.probabilities[0]).toBeCloseTo(mean(scores[i] as number[]), 12);
      expect(r.modelResult.products).toEqual(records[i]?.products.map(String));
    });
  });

  it('confidence: the model furthest from the decision threshold', async () => {
    const threshold = 0.4;
    const out = await decideAll({ 'speculative-decider': 'confidence', 'decision-threshold': threshold });
    const picked = new Set<string>();
    out.forEach((r, i) => {
      const s = scores[i] as number[];
      const distance = s.map((p) => Math.abs(p - threshold));
      const best = distance.indexOf(Math.max(...distance));
      expect(r.modelResultMetadata.modelName).toBe(names[best]);
      expect(r.modelResult.probabilities[0]).toBe(s[best]);
      picked.add(names[best] as string);
    });
    expect(picked.size).toBe(3);
  });

  it('first: the first model to answer decides, here a candidate while the primary is slow', async () => {
    const latch = new Latch();
    const h = await speculate({ 'speculative-decider': 'first' }, model('recommender-a', SLOW), latch);
    try {
      await h.send('in-0', records.slice(0, 50));
      await h.until(() => h.outputs('out').length === 50);
      results(h.outputs('out')).forEach((r, i) => {
        expect(r.modelResultMetadata).toMatchObject({ modelName: 'recommender-b', errors: '' });
        expect(r.modelResult.probabilities[0]).toBe(scores[i]?.[1]);
      });
    } finally {
      latch.release();
    }
  });

  it('leaves out models that miss the deadline, and says which decided', async () => {
    const latch = new Latch();
    const h = await speculate({ 'speculative-decider': 'average', 'speculative-deadline': '100ms' }, model('recommender-a', SLOW), latch);
    try {
      for (let batch = 0; batch < 4; batch++) {
        await h.send('in-0', records.slice(batch * 10, batch * 10 + 10));
        await h.until(() => h.outputs('out').length === (batch + 1) * 10);
      }
      results(h.outputs('out')).forEach((r, i) => {
        expect(r.modelResultMetadata).toMatchObject({
          modelName: 'recommender-b+recommender-c',
          source: 'speculative average of recommender-b, recommender-c',
        });
        expect(r.modelResult.probabilities[0]).toBeCloseTo(mean((scores[i] as number[]).slice(1)), 12);
      });
      // The slow primary runs at most two calls: after two late batches it is not asked again until they end.
      expect((await servingState(h)).strategy).toMatchObject({ decider: 'average', deadlineMs: 100, lateAnswers: 2, busySkips: 2 });
    } finally {
      latch.release();
    }
  });

  it('answers with an error when no model answers within the deadline', async () => {
    const latch = new Latch();
    const h = await startServing(
      { strategy: 'speculative', candidates: 'recommender-b', 'speculative-deadline': '50ms' },
      { serving: recommenderServing({}, latch) },
    );
    try {
      await install(h, model('recommender-a', SLOW));
      await install(h, model('recommender-b', SLOW));
      await h.send('in-0', records.slice(0, 3));
      await h.until(() => h.outputs('out').length === 3);
      for (const r of results(h.outputs('out'))) {
        expect(r.modelResultMetadata.errors).toBe('none of the 2 models answered within 50 ms (speculative-deadline)');
        expect(r.modelResult.probabilities).toEqual([]);
      }
      expect(await servingState(h)).toMatchObject({ failedRecords: 3, strategy: { undecided: 3 } });
    } finally {
      latch.release();
    }
  });

  it('decides from the models that scored a record when another fails on it', async () => {
    const h = await speculate({ 'speculative-decider': 'average' });
    // Product 100000 is out of every model's range: all fail, and the record gets the primary's error.
    await h.send('in-0', [records[0], { user: 1, products: [100_000], datatype: 'bad' }]);
    await h.until(() => h.outputs('out').length === 2);
    const [good, bad] = results(h.outputs('out'));
    expect(good?.modelResultMetadata.modelName).toBe('recommender-a+recommender-b+recommender-c');
    expect(bad?.modelResultMetadata).toMatchObject({ modelName: 'recommender-a' });
    expect(bad?.modelResultMetadata.errors).toMatch(/inference with model recommender-a failed/);
    expect((await servingState(h)).failedRecords).toBe(1);
  });
});
