import { afterEach, describe, expect, it } from 'vitest';
import type { RecommenderRecord, RecommenderResult } from '../../../examples/recommender/schemas.js';
import { recommenderRecord } from '../../support/recommender.js';
import { directOutputs, install, model, servingState, startServing, stopAll } from './support.js';

afterEach(stopAll);

const results = (values: readonly unknown[]) => values as readonly RecommenderResult[];

/**
 * Whether `hits` of `n` is a plausible draw for share `p`: within 5 standard deviations of the
 * binomial (a sound test fails this way with probability below 1e-6).
 */
function plausibleShare(hits: number, n: number, p: number): boolean {
  return Math.abs(hits - n * p) <= 5 * Math.sqrt(n * p * (1 - p));
}

/** 3,000 records of 1,000 users, each user three times, in three rounds. */
const records: RecommenderRecord[] = Array.from({ length: 3_000 }, (_, i) => recommenderRecord(i));

async function scoreAll(config: Record<string, unknown>, candidates: readonly ('recommender-b' | 'recommender-c')[]) {
  const h = await startServing({ strategy: 'canary', ...config });
  await install(h, model('recommender-a'));
  for (const name of candidates) await install(h, model(name));
  await h.send('in-0', records);
  await h.until(() => h.outputs('out').length === records.length, 20_000);
  return { h, out: results(h.outputs('out')) };
}

describe('canary strategy', () => {
  it('sends the configured share of keys to the candidate, every record of a key the same way, with its model named on out', async () => {
    const weight = 0.2;
    const { h, out } = await scoreAll({ candidates: 'recommender-b', 'canary-weight': weight }, ['recommender-b']);
    expect(out.map((r) => r.inputRecord.datatype)).toEqual(records.map((r) => r.datatype));

    const modelOfUser = new Map<number, Set<string>>();
    for (const r of out) modelOfUser.set(r.inputRecord.user, (modelOfUser.get(r.inputRecord.user) ?? new Set()).add(r.modelResultMetadata.modelName));
    // Sticky: each user met exactly one model, in all three rounds.
    expect([...modelOfUser.values()].every((models) => models.size === 1)).toBe(true);
    const canaryUsers = [...modelOfUser.values()].filter((models) => models.has('recommender-b')).length;
    expect(plausibleShare(canaryUsers, 1_000, weight)).toBe(true);

    // Each record's result is its model's own answer.
    const a = await directOutputs(model('recommender-a'), records);
    const b = await directOutputs(model('recommender-b'), records);
    out.forEach((r, i) => {
      expect(r.modelResultMetadata.errors).toBe('');
      expect(r.modelResult).toEqual(r.modelResultMetadata.modelName === 'recommender-b' ? b[i] : a[i]);
    });

    const canaryRecords = out.filter((r) => r.modelResultMetadata.modelName === 'recommender-b').length;
    const state = await servingState(h);
    expect(state).toMatchObject({ name: 'recommender-a', usage: records.length - canaryRecords });
    expect(state.candidates).toEqual([expect.objectContaining({ role: 'canary', name: 'recommender-b', usage: canaryRecords })]);
    expect(state.strategy).toMatchObject({
      name: 'canary',
      weight,
      routing: 'key',
      routed: { primary: records.length - canaryRecords, candidates: canaryRecords },
    });
  });

  it('draws each record on its own with random routing', async () => {
    const weight = 0.3;
    const { out } = await scoreAll({ candidates: 'recommender-b', 'canary-weight': weight, 'canary-routing': 'random' }, ['recommender-b']);
    const canary = out.filter((r) => r.modelResultMetadata.modelName === 'recommender-b').length;
    expect(plausibleShare(canary, records.length, weight)).toBe(true);
    const modelsOfUser = new Map<number, Set<string>>();
    for (const r of out) modelsOfUser.set(r.inputRecord.user, (modelsOfUser.get(r.inputRecord.user) ?? new Set()).add(r.modelResultMetadata.modelName));
    // Not sticky: with three draws per user at 0.3, about 2/3 of users meet both models.
    const mixed = [...modelsOfUser.values()].filter((m) => m.size === 2).length;
    expect(plausibleShare(mixed, 1_000, 1 - 0.3 ** 3 - 0.7 ** 3)).toBe(true);
  });

  it('shares the weight equally between several candidates', async () => {
    const weight = 0.4;
    const { out } = await scoreAll({ candidates: 'recommender-b, recommender-c', 'max-candidates': 2, 'canary-weight': weight }, [
      'recommender-b',
      'recommender-c',
    ]);
    const users = (name: string) => new Set(out.filter((r) => r.modelResultMetadata.modelName === name).map((r) => r.inputRecord.user)).size;
    expect(plausibleShare(users('recommender-b'), 1_000, weight / 2)).toBe(true);
    expect(plausibleShare(users('recommender-c'), 1_000, weight / 2)).toBe(true);
    expect(users('recommender-a') + users('recommender-b') + users('recommender-c')).toBe(1_000);
  });

  it('sends every record to the primary at weight 0 and to the candidate at weight 1', async () => {
    const none = await scoreAll({ candidates: 'recommender-b', 'canary-weight': 0 }, ['recommender-b']);
    expect(none.out.every((r) => r.modelResultMetadata.modelName === 'recommender-a')).toBe(true);
    await stopAll();
    const all = await scoreAll({ candidates: 'recommender-b', 'canary-weight': 1 }, ['recommender-b']);
    expect(all.out.every((r) => r.modelResultMetadata.modelName === 'recommender-b')).toBe(true);
  });

  it('answers the canary share with its candidate and the rest with "no model" before a primary arrives', async () => {
    const h = await startServing({ strategy: 'canary', candidates: 'recommender-b', 'canary-weight': 0.5 });
    await install(h, model('recommender-b'));
    await h.send('in-0', records.slice(0, 200));
    await h.until(() => h.outputs('out').length === 200);
    const out = results(h.outputs('out'));
    const withoutModel = out.filter((r) => r.modelResultMetadata.errors === 'No model server defined').length;
    expect(withoutModel + out.filter((r) => r.modelResultMetadata.modelName === 'recommender-b').length).toBe(200);
    expect(withoutModel).toBeGreaterThan(0);
    expect((await servingState(h)).recordsWithoutModel).toBe(withoutModel);
  });
});
