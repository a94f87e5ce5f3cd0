import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecommenderResult } from '../../../examples/recommender/schemas.js';
import { STATE_FILE } from '../../../src/serving/model-state.js';
import { promotion } from '../../../src/serving/strategies/promotion.js';
import { capturingLogger, recommenderRecord, tempDir } from '../../support/recommender.js';
import { install, model, servingState, startServing, stopAll } from './support.js';

afterEach(stopAll);

const results = (values: readonly unknown[]) => values as readonly RecommenderResult[];
const canary = { strategy: 'canary', candidates: 'recommender-b, recommender-c', 'canary-weight': 0.5 };

describe('candidate models', () => {
  it('promotes a candidate to primary: no reload, the old primary retired, persisted as the primary', async () => {
    const volume = tempDir();
    const first = await startServing(canary, { volume });
    await install(first, model('recommender-a'));
    await install(first, model('recommender-b'));
    expect(readdirSync(volume).sort()).toEqual(['candidate-recommender-b.avro', STATE_FILE]);
    await install(first, promotion('recommender-b'));
    await first.send(
      'in-0',
      Array.from({ length: 100 }, (_, i) => recommenderRecord(i)),
    );
    await first.until(() => first.outputs('out').length === 100);
    expect(results(first.outputs('out')).every((r) => r.modelResultMetadata.modelName === 'recommender-b')).toBe(true);
    const state = await servingState(first);
    expect(state).toMatchObject({ name: 'recommender-b', updates: { accepted: 3, rejected: 0, promoted: 1 }, candidates: [] });
    await stopAll();
    expect(readdirSync(volume)).toEqual([STATE_FILE]);

    const second = await startServing({}, { volume });
    await second.send('in-0', [recommenderRecord(1)]);
    await second.until(() => second.outputs('out').length === 1);
    expect(results(second.outputs('out'))[0]?.modelResultMetadata.modelName).toBe('recommender-b');
  });

  const badPromotions: [string, () => Parameters<typeof install>[1], RegExp][] = [
    ['a model that is no candidate', () => promotion('recommender-c'), /^no candidate model recommender-c to promote \(candidates: recommender-b\)$/],
    [
      'a promotion whose name differs from its location',
      () => ({ ...promotion('recommender-b'), modelName: 'recommender-c' }),
      /^model recommender-c cannot be loaded: a promotion of candidate recommender-b \(modelSourceLocation candidate:recommender-b\) must carry modelName recommender-b$/,
    ],
  ];
  it.each(badPromotions)('rejects the promotion of %s, and everything stays as it was', async (_what, update, reason) => {
    const h = await startServing(canary);
    await install(h, model('recommender-a'));
    await install(h, model('recommender-b'));
    await install(h, update());
    const state = await servingState(h);
    expect(state).toMatchObject({ name: 'recommender-a', candidates: [expect.objectContaining({ name: 'recommender-b' })], updates: { rejected: 1 } });
    expect(state.updates.lastRejected[0]?.reason).toMatch(reason);
  });

  it('keeps at most max-candidates, retiring the oldest, and replaces a candidate by its new version', async () => {
    const { log, lines } = capturingLogger();
    const volume = tempDir();
    const h = await startServing(canary, { volume, log });
    await install(h, model('recommender-b'));
    await install(h, model('recommender-c'));
    expect((await servingState(h)).candidates?.map((c) => c.name)).toEqual(['recommender-c']);
    expect(lines().find((l) => l.msg === 'candidate retired to make room for a new one')).toMatchObject({
      model: 'recommender-b',
      for: 'recommender-c',
      maxCandidates: 1,
    });
    expect(readdirSync(volume)).toEqual(['candidate-recommender-c.avro']);
    const since = (await servingState(h)).candidates?.[0];
    await install(h, model('recommender-c'));
    const again = (await servingState(h)).candidates;
    expect(again).toHaveLength(1);
    expect(again?.[0]).not.toEqual(since);
  });

  it('restores candidates on restart, and drops those the configuration no longer has room or a role for', async () => {
    const volume = tempDir();
    const first = await startServing({ ...canary, 'max-candidates': 2 }, { volume });
    await install(first, model('recommender-a'));
    await install(first, model('recommender-b'));
    await install(first, model('recommender-c'));
    await stopAll();

    const logged = capturingLogger();
    const second = await startServing(canary, { volume, log: logged.log });
    expect((await servingState(second)).candidates?.map((c) => c.name)).toEqual(['recommender-b']);
    expect(logged.lines().find((l) => l.msg === 'more persisted candidates than max-candidates; dropping one')).toMatchObject({ model: 'recommender-c' });
    await stopAll();

    const { log, lines } = capturingLogger();
    const third = await startServing({}, { volume, log });
    const state = await servingState(third);
    expect(state.name).toBe('recommender-a');
    expect(state).not.toHaveProperty('candidates');
    expect(lines().find((l) => l.msg === 'a persisted candidate plays no candidate role under this configuration; dropping it')).toMatchObject({
      model: 'recommender-b',
    });
    expect(readdirSync(volume)).toEqual([STATE_FILE]);
  });

  it('keeps an unreadable candidate file aside and starts without it', async () => {
    const volume = tempDir();
    writeFileSync(join(volume, 'candidate-recommender-b.avro'), Buffer.from([0x02, 0xff, 0xff]));
    const { log, lines } = capturingLogger();
    const h = await startServing(canary, { volume, log });
    expect((await servingState(h)).candidates).toEqual([]);
    expect(String(lines().find((l) => l.msg === 'cannot restore a persisted candidate; starting without it')?.error)).toMatch(
      /model state file .* is unreadable/,
    );
    expect(readdirSync(volume).filter((f) => f.startsWith('candidate-recommender-b.avro.corrupt-'))).toHaveLength(1);
  });

  it('puts candidates through the validation gate too', async () => {
    const set = join(tempDir(), 'set.jsonl');
    writeFileSync(set, `${JSON.stringify({ record: { user: 1, products: [2] }, label: [2] })}\n`);
    const h = await startServing({ ...canary, 'validation-set': set, 'validation-max-mae': 0.5 });
    await install(h, model('recommender-b'));
    const state = await servingState(h);
    expect(state.candidates).toEqual([]);
    expect(state.updates.lastRejected[0]?.reason).toMatch(/^model recommender-b failed validation: mae 1\.\d+ is above validation-max-mae 0\.5/);
  });
});

describe('strategy configuration', () => {
  const startErrors: [string, Record<string, unknown>, string][] = [
    [
      'a strategy without candidates',
      { strategy: 'canary' },
      'strategy canary needs candidates: the names of the models (on in-1) that play the candidate role',
    ],
    [
      'candidates without a strategy',
      { candidates: 'recommender-b' },
      'candidates is "recommender-b" but strategy is none: set strategy to shadow, canary or speculative, or remove candidates',
    ],
    ['an empty candidate name', { strategy: 'shadow', candidates: 'recommender-b,,x' }, 'candidates "recommender-b,,x" has an empty name between commas'],
  ];
  it.each(startErrors)('refuses to start with %s', async (_what, config, message) => {
    const h = await startServing(config);
    const outcome = await h.app.finished;
    expect(outcome.ok ? '' : outcome.error.message).toBe(`streamlet model-serving failed: streamlet model-serving config: ${message}`);
  });

  const parseErrors: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown strategy', { strategy: 'blue-green' }, /strategy expected one of none, shadow, canary, speculative, got "blue-green"/],
    ['a canary weight above 1', { 'canary-weight': 1.5 }, /canary-weight must be at most 1, got 1\.5/],
    ['an unknown routing', { 'canary-routing': 'sticky' }, /canary-routing expected one of key, random, got "sticky"/],
    ['an unknown decider', { 'speculative-decider': 'vote' }, /speculative-decider expected one of majority, average, confidence, first, got "vote"/],
    ['a negative deadline', { 'speculative-deadline': '-5ms' }, /speculative-deadline must be at least 0ms, got -5ms/],
    ['no room for candidates', { 'max-candidates': 0 }, /max-candidates must be at least 1, got 0/],
  ];
  it.each(parseErrors)('refuses %s when the config is parsed', async (_what, config, message) => {
    await expect(startServing(config)).rejects.toThrow(message);
  });
});
