import { afterEach, describe, expect, it } from 'vitest';
import type { RecommenderResult, RecommenderServingOutput } from '../../../examples/recommender/schemas.js';
import type { ComparisonRecord } from '../../../src/serving/strategies/comparison.js';
import { recommenderRecord } from '../../support/recommender.js';
import { directOutputs, install, Latch, model, recommenderServing, servingState, SLOW, startServing, stopAll, tenProductModel } from './support.js';

afterEach(stopAll);

const results = (values: readonly unknown[]) => values as readonly RecommenderResult[];
const comparisons = (values: readonly unknown[]) => values as readonly ComparisonRecord[];
const records = Array.from({ length: 300 }, (_, i) => recommenderRecord(i));

describe('shadow strategy', () => {
  it('answers out with the primary alone, and writes both answers side by side to the shadow outlet', async () => {
    const h = await startServing({ strategy: 'shadow', candidates: 'recommender-b' });
    await install(h, model('recommender-a'));
    await install(h, model('recommender-b'));
    await h.send('in-0', records);
    await h.until(() => h.outputs('out').length === records.length && h.outputs('shadow').length === records.length);

    const a = await directOutputs(model('recommender-a'), records);
    const b = await directOutputs(model('recommender-b'), records);
    const out = results(h.outputs('out'));
    expect(out).toHaveLength(records.length);
    out.forEach((r, i) => {
      expect(r.modelResultMetadata).toMatchObject({ modelName: 'recommender-a', errors: '' });
      expect(r.inputRecord).toEqual(records[i]);
      expect(r.modelResult).toEqual(a[i]);
    });

    // Users are unique among these records: the key names the record.
    const byKey = new Map(comparisons(h.outputs('shadow')).map((c) => [c.key, c]));
    expect(byKey.size).toBe(records.length);
    let disagreements = 0;
    records.forEach((record, i) => {
      const c = byKey.get(String(record.user));
      const primary = a[i] as RecommenderServingOutput;
      const shadow = b[i] as RecommenderServingOutput;
      expect(c).toMatchObject({ streamlet: 'model-serving', primaryModel: 'recommender-a', shadowModel: 'recommender-b', primaryErrors: '', shadowErrors: '' });
      expect(JSON.parse(c?.primaryOutput ?? 'null')).toEqual(primary);
      expect(JSON.parse(c?.shadowOutput ?? 'null')).toEqual(shadow);
      const agree = primary.probabilities.every((p, k) => p >= 0.5 === (shadow.probabilities[k] as number) >= 0.5);
      expect(c?.agreement).toBe(agree);
      if (!agree) disagreements++;
      expect(c?.difference).toBeCloseTo(Math.max(...primary.probabilities.map((p, k) => Math.abs(p - (shadow.probabilities[k] as number)))), 12);
    });
    // The two models differ: the comparison is not trivially "agree".
    expect(disagreements).toBeGreaterThan(records.length / 4);

    const state = await servingState(h);
    expect(state).toMatchObject({ name: 'recommender-a', usage: records.length, failedRecords: 0 });
    expect(state.candidates).toEqual([expect.objectContaining({ role: 'shadow', name: 'recommender-b', usage: records.length })]);
    expect(state.strategy).toMatchObject({
      name: 'shadow',
      shadow: { compared: records.length, agreed: records.length - disagreements, shadowFailed: 0, skipped: 0 },
    });
  });

  it('keeps out unchanged when the shadow model fails', async () => {
    const h = await startServing({ strategy: 'shadow', candidates: 'shadow-*' });
    await install(h, model('recommender-a'));
    await install(h, tenProductModel('shadow-ten-products'));
    await h.send('in-0', records);
    await h.until(() => h.outputs('out').length === records.length && h.outputs('shadow').length === records.length);

    const a = await directOutputs(model('recommender-a'), records);
    expect(results(h.outputs('out')).map((r) => r.modelResult)).toEqual(a);
    expect(results(h.outputs('out')).every((r) => r.modelResultMetadata.errors === '' && r.modelResultMetadata.modelName === 'recommender-a')).toBe(true);

    const failing = records.filter((r) => r.products.some((p) => p >= 10)).length;
    expect(failing).toBeGreaterThan(records.length / 2);
    const shadow = comparisons(h.outputs('shadow'));
    const failed = shadow.filter((c) => c.shadowErrors !== '');
    expect(failed).toHaveLength(failing);
    for (const c of failed) {
      expect(c.shadowErrors).toMatch(/inference with model shadow-ten-products failed/);
      expect(c).toMatchObject({ shadowOutput: null, agreement: null, difference: null, primaryErrors: '' });
      expect(c.primaryOutput).not.toBeNull();
    }
    const state = await servingState(h);
    expect(state).toMatchObject({ failedRecords: 0, strategy: { shadow: { compared: records.length, shadowFailed: failing } } });
  });

  it('never holds out back: while the shadow is busy, further batches go unshadowed and are counted', async () => {
    const latch = new Latch();
    const h = await startServing({ strategy: 'shadow', candidates: 'recommender-b', 'shadow-max-pending': 1 }, { serving: recommenderServing({}, latch) });
    try {
      await install(h, model('recommender-a'));
      await install(h, model('recommender-b', SLOW));
      const batches = 10;
      for (let b = 0; b < batches; b++) {
        await h.send('in-0', records.slice(b * 10, b * 10 + 10));
        await h.until(() => h.outputs('out').length === (b + 1) * 10);
      }
      // Every batch is on out although the shadow has not answered one.
      expect(h.outputs('shadow')).toHaveLength(0);
      expect((await servingState(h)).strategy).toMatchObject({ shadow: { compared: 0, skipped: (batches - 1) * 10, pending: 1 } });
    } finally {
      latch.release();
    }
    await h.until(() => h.outputs('shadow').length === 10);
    expect((await servingState(h)).strategy).toMatchObject({ shadow: { compared: 10, skipped: 90, pending: 0 } });
    expect(comparisons(h.outputs('shadow')).map((c) => c.key)).toEqual(records.slice(0, 10).map((r) => String(r.user)));
  });

  it('compares against "no model" before a primary is installed', async () => {
    const h = await startServing({ strategy: 'shadow', candidates: 'recommender-b' });
    await install(h, model('recommender-b'));
    await h.send('in-0', records.slice(0, 5));
    await h.until(() => h.outputs('shadow').length === 5);
    expect(results(h.outputs('out')).every((r) => r.modelResultMetadata.errors === 'No model server defined')).toBe(true);
    for (const c of comparisons(h.outputs('shadow'))) {
      expect(c).toMatchObject({
        primaryModel: '',
        primaryOutput: null,
        primaryErrors: 'No model server defined',
        shadowModel: 'recommender-b',
        agreement: null,
      });
    }
  });

  it('writes nothing to the shadow outlet without the shadow strategy', async () => {
    const h = await startServing({});
    await install(h, model('recommender-a'));
    await install(h, model('recommender-b'));
    await h.send('in-0', records.slice(0, 20));
    await h.until(() => h.outputs('out').length === 20);
    await stopAll();
    expect(h.outputs('shadow')).toEqual([]);
    expect(results(h.outputs('out')).every((r) => r.modelResultMetadata.modelName === 'recommender-b')).toBe(true);
  });
});
