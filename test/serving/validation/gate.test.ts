import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecommenderResult } from '../../../examples/recommender/schemas.js';
import { ModelStateStore } from '../../../src/serving/model-state.js';
import { labelledSet } from '../../../src/serving/validation/labelled-set.js';
import { capturingLogger, recommenderRecord, tempDir } from '../../support/recommender.js';
import {
  directOutputs,
  install,
  model,
  recommenderServing,
  servingState,
  startServing,
  stopAll,
  tenProductModel,
  type ModelName,
} from '../strategies/support.js';

afterEach(stopAll);

const results = (values: readonly unknown[]) => values as readonly RecommenderResult[];
const holdout = Array.from({ length: 200 }, (_, i) => recommenderRecord(5_000 + i));
/** Per product: 1 when recommender-b scores it at least 0.5. b ranks these perfectly; a and c at chance (AUC ≈ 0.49 and 0.50). */
let labels: number[][];
/** recommender-b's own scores: a regression target b meets exactly. */
let scores: number[][];
let setFile: string;

beforeAll(async () => {
  scores = (await directOutputs(model('recommender-b'), holdout)).map((o) => o.probabilities);
  labels = scores.map((s) => s.map((p) => (p >= 0.5 ? 1 : 0)));
  setFile = writeSet(holdout.map((record, i) => ({ record, label: labels[i] })));
});

function writeSet(lines: readonly unknown[], raw?: string): string {
  const file = join(tempDir('sluice-holdout-'), 'holdout.jsonl');
  writeFileSync(file, raw ?? lines.map((l) => JSON.stringify(l)).join('\n'));
  return file;
}

/** A model-serving volume that already holds `name`: it is restored on start, without the gate (it passed when it was installed). */
async function volumeServing(name: ModelName): Promise<string> {
  const volume = tempDir();
  await new ModelStateStore(volume).save(model(name));
  return volume;
}

describe('validation gate', () => {
  it('rejects a model that misses a threshold, naming measure, value, threshold and set size; the old model keeps serving', async () => {
    const { log, lines } = capturingLogger();
    const h = await startServing({ 'validation-set': setFile, 'validation-min-auc': 0.9 }, { volume: await volumeServing('recommender-a'), log });
    await install(h, model('recommender-c'));
    await h.send('in-0', [recommenderRecord(1)]);
    await h.until(() => h.outputs('out').length === 1);

    expect(results(h.outputs('out'))[0]?.modelResultMetadata).toMatchObject({ modelName: 'recommender-a', errors: '' });
    const state = await servingState(h);
    expect(state.name).toBe('recommender-a');
    expect(state.updates).toMatchObject({ accepted: 0, rejected: 1 });
    const reason =
      /^model recommender-c failed validation: auc 0\.\d+ is below validation-min-auc 0\.9 \(set .*holdout\.jsonl: 200 records, 3100 labelled values\)$/;
    expect(state.updates.lastRejected[0]).toMatchObject({ modelName: 'recommender-c' });
    expect(state.updates.lastRejected[0]?.reason).toMatch(reason);
    expect(state.validation?.last).toMatchObject({ modelName: 'recommender-c', passed: false, records: 200 });
    expect(state.validation?.last?.measures.auc).toBeLessThan(0.6);
    const logged = lines().find((l) => l.msg === 'model update rejected; the current model keeps serving');
    expect(String(logged?.error)).toMatch(reason);
    expect(logged?.serving).toBe('recommender-a');
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/sluice_model_updates_rejected_total\{[^}]*code="SLUICE_ERR_MODEL_VALIDATION"[^}]*\} 1/);
  });

  it('swaps in a model that passes, under load, losing and repeating no record', async () => {
    const { log, lines } = capturingLogger();
    const h = await startServing(
      { 'validation-set': setFile, 'validation-min-auc': 0.9, 'batch-size': 64 },
      { volume: await volumeServing('recommender-a'), log },
    );
    const total = 12_000;
    const chunk = 200;
    let swapSent = false;
    let firstAfterAck = -1;
    for (let sent = 0; sent < total; sent += chunk) {
      if (swapSent && firstAfterAck < 0 && h.committed('in-1') === 2) firstAfterAck = sent;
      await h.send(
        'in-0',
        Array.from({ length: chunk }, (_, i) => recommenderRecord(sent + i)),
      );
      if (sent === total / 4) {
        // A failing update first, then the one that passes: both are validated while records flow.
        await h.send('in-1', [model('recommender-c'), model('recommender-b')]);
        swapSent = true;
      }
    }
    await h.until(() => h.outputs('out').length >= total, 30_000);
    const state = await servingState(h);
    await stopAll();

    const out = results(h.outputs('out'));
    expect(out).toHaveLength(total);
    const ids = out.map((r) => Number(r.inputRecord.datatype.slice(4)));
    expect(new Set(ids).size).toBe(total);
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => i));
    const models = out.map((r) => r.modelResultMetadata.modelName);
    expect(new Set(models)).toEqual(new Set(['recommender-a', 'recommender-b']));
    expect(models.lastIndexOf('recommender-a')).toBeLessThan(models.indexOf('recommender-b'));
    expect(firstAfterAck).toBeGreaterThan(0);
    expect(models.slice(firstAfterAck).every((m) => m === 'recommender-b')).toBe(true);
    expect(out.every((r) => r.modelResultMetadata.errors === '')).toBe(true);
    expect(state).toMatchObject({ name: 'recommender-b', updates: { accepted: 1, rejected: 1 } });
    expect(state.validation?.last).toMatchObject({ modelName: 'recommender-b', passed: true, measures: { auc: 1, accuracy: 1 } });
    expect(lines().find((l) => l.msg === 'model passed validation')).toMatchObject({ model: 'recommender-b', records: 200, auc: 1 });
  });

  it('checks error thresholds against numeric labels', async () => {
    const regression = writeSet(holdout.map((record, i) => ({ record, label: scores[i] })));
    const h = await startServing({ 'validation-set': regression, 'validation-max-mae': 0.01, 'validation-max-mse': 0.001 });
    await install(h, model('recommender-a'));
    await install(h, model('recommender-b'));
    const state = await servingState(h);
    expect(state.name).toBe('recommender-b');
    expect(state.updates.lastRejected[0]?.reason).toMatch(
      /^model recommender-a failed validation: mae 0\.\d+ is above validation-max-mae 0\.01; mse 0\.\d+ is above validation-max-mse 0\.001 \(set .*: 200 records, 3100 labelled values\)$/,
    );
    expect(state.validation?.last?.measures.mae).toBeLessThan(1e-6);
    expect(state.validation?.last?.measures).not.toHaveProperty('auc');
  });

  it('takes a labelled set, a predictions reading and a check of its own from code', async () => {
    const checked: number[] = [];
    const serving = recommenderServing({
      // The highest-scored product only: one prediction per record.
      predictions: (output) => Math.max(...output.probabilities),
      validation: {
        set: () =>
          labelledSet(
            'top-product set',
            holdout.map((record, i) => ({ record, label: Math.max(...(scores[i] as number[])) })),
          ),
        validate: (records, outputs) => {
          checked.push(records.length);
          const empty = outputs.filter((o) => o.products.length === 0).length;
          return empty > 0 ? `${empty} records came back without products` : undefined;
        },
      },
    });
    const h = await startServing({ 'validation-max-mae': 0.02 }, { serving });
    await install(h, model('recommender-c'));
    await install(h, model('recommender-b'));
    const state = await servingState(h);
    expect(state.name).toBe('recommender-b');
    expect(state.updates.lastRejected[0]?.reason).toMatch(
      /^model recommender-c failed validation: mae 0\.\d+ is above validation-max-mae 0\.02 \(set top-product set: 200 records, 200 labelled values\)$/,
    );
    expect(checked).toEqual([200, 200]);
  });

  it("rejects a model when the application's own check fails", async () => {
    const serving = recommenderServing({ validation: { validate: () => 'the launch calendar says no' } });
    const h = await startServing({ 'validation-set': setFile }, { serving });
    await install(h, model('recommender-b'));
    const state = await servingState(h);
    expect(state.name).toBeNull();
    expect(state.updates.lastRejected[0]?.reason).toBe(
      `model recommender-b failed validation: the launch calendar says no (set ${setFile}: 200 records, 3100 labelled values)`,
    );
  });

  it('rejects a model that cannot score the set', async () => {
    const h = await startServing({ 'validation-set': setFile, 'validation-min-auc': 0.5 }, { volume: await volumeServing('recommender-a') });
    await install(h, tenProductModel('tiny'));
    const state = await servingState(h);
    expect(state.name).toBe('recommender-a');
    expect(state.updates.lastRejected[0]?.reason).toMatch(/^model tiny failed validation: scoring records 1–200 of .*holdout\.jsonl failed: .*/);
  });

  const badSets: [string, () => string, Record<string, unknown>, RegExp][] = [
    ['a set file that does not exist', () => '/nonexistent/holdout.jsonl', {}, /^validation set \/nonexistent\/holdout\.jsonl: cannot read it: ENOENT/],
    ['a line that is not JSON', () => writeSet([], '{"record": {"user": 1, "products": [2]}, "label": [1]}\n{oops'), {}, /: line 2 is not JSON: /],
    [
      'a line without a label',
      () => writeSet([{ record: recommenderRecord(1) }]),
      {},
      /: line 1 must be an object \{"record": \.\.\., "label": \.\.\.\}, got \{"record"/,
    ],
    [
      'a record that does not fit the data schema',
      () => writeSet([{ record: { user: 'ann', products: [1] }, label: [1] }]),
      {},
      /: line 1: the record does not fit the data schema: .*user: "ann" is not an integer \(long\)/,
    ],
    [
      'a label that is not a number',
      () => writeSet([{ record: recommenderRecord(1), label: 'yes' }]),
      {},
      /: line 1: the label must be a number, a boolean or a list of them, got "yes"/,
    ],
    ['an empty set', () => writeSet([], '\n\n'), {}, /: the set is empty: it has no labelled records/],
    [
      'more labels than the model gives predictions',
      () => writeSet([{ record: { user: 1, products: [2] }, label: [1, 0] }]),
      {},
      /^model recommender-b failed validation: record 1 of .* has 2 label\(s\) but the model gives 1 prediction\(s\) for it$/,
    ],
    [
      'AUC asked of labels that are not 0/1',
      () => writeSet(holdout.slice(0, 5).map((record, i) => ({ record, label: scores[i] }))),
      {},
      /: validation-min-auc need labels 0 or 1 \(or true\/false\), but a label is 0\.\d+/,
    ],
    [
      'AUC asked of one class only',
      () => writeSet([{ record: { user: 1, products: [2, 3] }, label: [true, true] }]),
      {},
      /: validation-min-auc needs both classes, but all 2 labels are 1/,
    ],
    [
      'a record the adapter refuses',
      () => writeSet([{ record: { user: -1, products: [2] }, label: [1] }]),
      {},
      /: record 1 cannot be scored: user id -1 is not a non-negative integer/,
    ],
  ];

  it.each(badSets)('rejects the update, saying why, for %s', async (_what, file, config, reason) => {
    const h = await startServing({ 'validation-set': file(), 'validation-min-auc': 0.5, ...config }, { volume: await volumeServing('recommender-a') });
    await install(h, model('recommender-b'));
    const state = await servingState(h);
    expect(state.name).toBe('recommender-a');
    expect(state.updates.rejected).toBe(1);
    expect(state.updates.lastRejected[0]?.reason).toMatch(reason);
  });

  const badConfigs: [string, Record<string, unknown>, RegExp][] = [
    ['thresholds without a set', { 'validation-min-accuracy': 0.8 }, /validation-min-accuracy needs a labelled set: set validation-set to a JSON-lines file/],
    [
      'a set without thresholds',
      { 'validation-set': 'holdout.jsonl' },
      /validation-set is "holdout\.jsonl" but nothing is checked on it: set validation-min-accuracy/,
    ],
  ];

  it.each(badConfigs)('refuses to start with %s', async (_what, config, message) => {
    const h = await startServing(config);
    const outcome = await h.app.finished;
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.error.message).toMatch(new RegExp(`streamlet model-serving failed: streamlet model-serving config: ${message.source}`));
  });

  it('refuses threshold values out of their range when the config is parsed', async () => {
    await expect(startServing({ 'validation-set': setFile, 'validation-min-auc': 1.5 })).rejects.toThrow(/validation-min-auc must be at most 1, got 1\.5/);
    await expect(startServing({ 'validation-set': setFile, 'validation-max-mae': -1 })).rejects.toThrow(/validation-max-mae must be at least 0, got -1/);
  });
});
