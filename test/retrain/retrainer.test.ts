import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DriftRecordSchema } from '../../examples/drift/schemas.js';
import { DRIFT_FEATURES } from '../../examples/drift/world.js';
import type { DriftRecord } from '../../examples/drift/schemas.js';
import { denseClassifierTrainer } from '../../src/serving/retrain/dense-classifier.js';
import type { Trainer } from '../../src/serving/retrain/trainer.js';
import { readLabelledSet } from '../../src/serving/validation/labelled-set.js';
import type { StreamletHarness } from '../../src/testkit.js';
import { capturingLogger, tempDir } from '../support/recommender.js';
import { aucOn, decisions, driftEvent, labelled, published, retrainOnDriftRecords, startRetrain } from './support.js';

const dense = denseClassifierTrainer<DriftRecord>({ features: DRIFT_FEATURES });
const running: StreamletHarness[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

async function start(config: Readonly<Record<string, unknown>>, trainer: Trainer<DriftRecord> = dense, volumes?: { models: string; work: string }) {
  const { log, lines } = capturingLogger();
  const h = await startRetrain(retrainOnDriftRecords({ trainer }), config, { log, ...(volumes ? { volumes } : {}) });
  running.push(h);
  return { h, lines };
}

const outcomes = (h: StreamletHarness) => decisions(h).map((d) => `${d.outcome} ${d.trigger}`);

/** The current model of the tests that need one: trained on the world before its shift. */
async function goodModel() {
  const data = labelled(600, { shifted: false, seed: 90 });
  const trained = await dense.train({ records: data.map((l) => l.record), labels: data.map((l) => l.label) }, new AbortController().signal);
  return {
    modelName: 'good-model',
    description: trained.description,
    modelType: trained.modelType,
    modelBytes: Buffer.from(trained.modelBytes),
    modelSourceLocation: null,
  };
}

describe('retrain streamlet', () => {
  it('retrains on schedule once min-samples feedback is there, publishes a model that serves well, writes its held-out records, and logs every decision', async () => {
    const holdoutFile = join(tempDir('sluice-holdout-'), 'holdout.jsonl');
    const { h, lines } = await start({
      interval: '150ms',
      'min-samples': 200,
      'train-without-model': false,
      'holdout-file': holdoutFile,
      cooldown: '10 minutes',
    });
    await h.until(() => decisions(h).length >= 1);
    expect(decisions(h)[0]).toMatchObject({
      outcome: 'SKIPPED',
      trigger: 'SCHEDULE',
      reason: 'scheduled every 0.15 s: only 0 of min-samples 200 feedback records',
    });

    await h.send('feedback', labelled(400, { shifted: false, seed: 1 }));
    await h.until(() => decisions(h).some((d) => d.outcome === 'PUBLISHED'), 20_000);
    const model = published(h)[0];
    expect(model).toMatchObject({ modelName: 'retrain-1', modelType: 'TENSORFLOWJS' });
    expect(model?.description).toMatch(/^TF\.js dense 4→1 classifier of x1, x2, x3, x4, trained on 320 records/);
    // Fresh records of the same world: the published model ranks them nearly as well as the truth does (0.93).
    expect(await aucOn(model!, labelled(2000, { shifted: false, seed: 2 }))).toBeGreaterThan(0.88);

    const steps = decisions(h).filter((d) => d.outcome !== 'SKIPPED');
    expect(steps.map((d) => d.outcome)).toEqual(['STARTED', 'TRAINED', 'PUBLISHED']);
    expect(steps[0]).toMatchObject({ trigger: 'SCHEDULE', trainingRecords: 320, holdoutRecords: 80, modelName: null });
    expect(steps[2]).toMatchObject({
      modelName: 'retrain-1',
      metric: 'auc',
      currentModel: null,
      currentScore: null,
      reason: expect.stringMatching(/^auc 0\.\d+ \(no current model\)$/),
    });
    expect(steps[2]?.candidateScore).toBeGreaterThan(0.85);

    const holdout = await readLabelledSet(holdoutFile, DriftRecordSchema);
    expect(holdout.records).toHaveLength(80);
    // Evenly spread: every fifth record of the window.
    expect(holdout.records.slice(0, 3).map((r) => r.id)).toEqual([5, 10, 15]);

    // Later ticks fall in the cooldown.
    await h.until(() => decisions(h).at(-1)?.outcome === 'SKIPPED' && decisions(h).at(-1)?.reason.includes('cooldown') === true);
    expect(decisions(h).at(-1)?.reason).toMatch(/^scheduled every 0\.15 s: cooldown: [\d.]+ s of 600 s left$/);
    const logged = lines().map((l) => l.msg);
    expect(logged).toEqual(expect.arrayContaining(['retrain skipped', 'retrain started', 'candidate trained', 'candidate published']));
    expect(lines().find((l) => l.msg === 'candidate published')).toMatchObject({ trigger: 'SCHEDULE', modelName: 'retrain-1', metric: 'auc' });
  });

  it('on drift, drops the feedback from before it (and what arrives within label-delay), then trains on what comes after; drift in a later window meets the cooldown', async () => {
    const { h, lines } = await start({ 'min-samples': 200, 'train-without-model': false, 'label-delay': '1500ms', cooldown: '10 minutes' });
    await h.send('feedback', labelled(300, { shifted: false, seed: 3 }));
    await h.until(() => h.committed('feedback') === 300);
    await h.send('drift', [driftEvent({ drifted: false, windowIndex: 2 })]);
    await h.until(() => h.committed('drift') === 1);
    expect(decisions(h)).toEqual([]);

    // Three features drifted in window 3: one trigger.
    await h.send('drift', [driftEvent({ windowIndex: 3 }), driftEvent({ windowIndex: 3, feature: 'x2' }), driftEvent({ windowIndex: 3, feature: 'score' })]);
    await h.until(() => lines().some((l) => String(l.msg).startsWith('drift: feedback from before it dropped')));
    expect(lines().find((l) => String(l.msg).startsWith('drift: feedback'))).toMatchObject({ dropped: 300, alsoDroppedForMs: 1500 });
    // Labels of records from before the drift, still arriving: dropped too.
    await h.send('feedback', labelled(100, { shifted: false, seed: 4, firstId: 301 }));
    await h.until(() => h.committed('feedback') === 400);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const after = labelled(250, { shifted: true, seed: 5, firstId: 401 });
    await h.send('feedback', after);
    await h.until(() => decisions(h).some((d) => d.outcome === 'PUBLISHED'), 20_000);

    expect(outcomes(h)).toEqual(['STARTED DRIFT', 'TRAINED DRIFT', 'PUBLISHED DRIFT']);
    expect(decisions(h)[0]).toMatchObject({ reason: 'drift of x1 (KS 0.31 p=1.00e-20) in window 3', trainingRecords: 200, holdoutRecords: 50 });
    expect(lines().find((l) => l.msg === 'feedback about records from after the drift is collected from now on')).toMatchObject({ dropped: 400 });
    // It learned the shifted world only.
    expect(await aucOn(published(h)[0]!, labelled(2000, { shifted: true, seed: 6 }))).toBeGreaterThan(0.88);

    await h.send('drift', [driftEvent({ windowIndex: 4 })]);
    await h.until(() => decisions(h).length === 4);
    expect(decisions(h)[3]).toMatchObject({ outcome: 'SKIPPED', trigger: 'DRIFT' });
    expect(decisions(h)[3]?.reason).toMatch(/^drift of x1 \(KS 0\.31 p=1\.00e-20\) in window 4: cooldown: [\d.]+ s of 600 s left$/);
  });

  it('without a model, trains a first one as soon as min-samples records are there', async () => {
    const { h } = await start({ 'min-samples': 150 });
    await h.send('feedback', labelled(100, { shifted: false, seed: 7 }));
    await h.until(() => h.committed('feedback') === 100);
    expect(decisions(h)).toEqual([]);
    await h.send('feedback', labelled(60, { shifted: false, seed: 8, firstId: 101 }));
    await h.until(() => decisions(h).some((d) => d.outcome === 'PUBLISHED'), 20_000);
    expect(decisions(h)[0]).toMatchObject({
      outcome: 'STARTED',
      trigger: 'NO_MODEL',
      reason: 'no model to compare with: training a first one',
      trainingRecords: 128,
    });
  });

  it('does not publish a candidate worse than the current model; the current model stays', async () => {
    const flipped: Trainer<DriftRecord> = {
      name: 'flipped labels',
      train: (set, signal) => dense.train({ records: set.records, labels: set.labels.map((l) => 1 - l) }, signal),
    };
    const { h, lines } = await start({ 'min-samples': 200, 'forget-on-drift': false }, flipped);
    await h.send('models', [await goodModel()]);
    await h.until(() => h.committed('models') === 1);
    await h.send('feedback', labelled(300, { shifted: false, seed: 9 }));
    await h.until(() => h.committed('feedback') === 300);
    // A model was announced: no first one is trained.
    expect(decisions(h)).toEqual([]);
    await h.send('drift', [driftEvent()]);
    await h.until(() => decisions(h).at(-1)?.outcome === 'REJECTED', 20_000);

    const rejected = decisions(h).at(-1);
    expect(rejected).toMatchObject({
      trigger: 'DRIFT',
      modelName: 'retrain-1',
      currentModel: 'good-model',
      metric: 'auc',
      trainingRecords: 240,
      holdoutRecords: 60,
    });
    expect(rejected?.reason).toMatch(/^auc 0\.\d+ against 0\.9\d* of good-model: not better by margin 0$/);
    expect(rejected?.candidateScore).toBeLessThan(0.2);
    expect(rejected?.currentScore).toBeGreaterThan(0.85);
    expect(published(h)).toEqual([]);
    expect(lines().find((l) => l.msg === 'candidate rejected; the current model stays')).toMatchObject({ modelName: 'retrain-1', currentModel: 'good-model' });
    const state = (await (await fetch(`${h.url}/retrain`)).json()) as { currentModel: string; feedback: { records: number } };
    expect(state).toMatchObject({ currentModel: 'good-model', feedback: { records: 300 } });
  });

  it('publishes over the current model only by the margin: a candidate as good is rejected, a better one (the world shifted) is published', async () => {
    const { h } = await start({ 'min-samples': 200, margin: 0.05, cooldown: 0 });
    await h.send('models', [await goodModel()]);
    await h.until(() => h.committed('models') === 1);
    await h.send('feedback', labelled(300, { shifted: false, seed: 10 }));
    await h.until(() => h.committed('feedback') === 300);
    await h.send('drift', [driftEvent({ windowIndex: 1 })]);
    await h.until(() => h.committed('drift') === 1);
    await h.send('feedback', labelled(300, { shifted: false, seed: 11, firstId: 301 }));
    await h.until(() => decisions(h).at(-1)?.outcome === 'REJECTED', 20_000);
    expect(decisions(h).at(-1)?.reason).toMatch(/^auc 0\.[89]\d* against 0\.[89]\d* of good-model: not better by margin 0\.05$/);

    await h.send('drift', [driftEvent({ windowIndex: 2 })]);
    await h.until(() => h.committed('drift') === 2);
    await h.send('feedback', labelled(300, { shifted: true, seed: 12, firstId: 601 }));
    await h.until(() => decisions(h).some((d) => d.outcome === 'PUBLISHED'), 20_000);
    const accepted = decisions(h).at(-1);
    expect(accepted).toMatchObject({ outcome: 'PUBLISHED', modelName: 'retrain-2', currentModel: 'good-model' });
    // The current model ranks the shifted world little better than chance.
    expect(accepted?.reason).toMatch(/^auc 0\.[89]\d* against 0\.[4-6]\d* of good-model \(margin 0\.05\)$/);
  });

  it('remembers the model it published last across a restart: no first model is trained again, and names go on from its number', async () => {
    const first = await start({ 'min-samples': 100 });
    await first.h.send('feedback', labelled(100, { shifted: false, seed: 15 }));
    await first.h.until(() => decisions(first.h).some((d) => d.outcome === 'PUBLISHED'), 20_000);
    await first.h.stop();

    const { h, lines } = await start({ 'min-samples': 100, cooldown: 0 }, dense, first.h.volumes);
    await h.until(() => lines().some((l) => l.msg === 'the last published model is the current one'));
    expect(lines().find((l) => l.msg === 'the last published model is the current one')).toMatchObject({ model: 'retrain-1' });
    await h.send('feedback', labelled(150, { shifted: false, seed: 16 }));
    await h.until(() => h.committed('feedback') === 150);
    expect(decisions(h)).toEqual([]);
    await h.send('drift', [driftEvent()]);
    await h.until(() => h.committed('drift') === 1);
    await h.send('feedback', labelled(150, { shifted: true, seed: 17, firstId: 151 }));
    await h.until(() => decisions(h).some((d) => d.outcome === 'PUBLISHED'), 20_000);
    expect(decisions(h).at(-1)).toMatchObject({ outcome: 'PUBLISHED', modelName: 'retrain-2', currentModel: 'retrain-1' });
  });

  it('leaves out feedback it cannot learn from, saying why once', async () => {
    const { h, lines } = await start({ 'min-samples': 200, 'train-without-model': false });
    const records = labelled(10, { shifted: false, seed: 13 });
    records[2] = { ...records[2]!, record: { ...records[2]!.record, x3: Number.NaN } };
    await h.send('feedback', records);
    await h.until(() => h.committed('feedback') === 10);
    const state = (await (await fetch(`${h.url}/retrain`)).json()) as { feedback: { records: number; received: number } };
    expect(state.feedback.records).toBe(9);
    expect(lines().filter((l) => l.msg === 'feedback record left out (only the first is logged)')).toEqual([
      expect.objectContaining({ reason: 'cannot score the record: missing fields: x3' }),
    ]);
  });
});
