import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecommenderModel } from '../../examples/recommender/models/build-models.js';
import { ModelServing } from '../../examples/recommender/streamlets.js';
import type { ScoringAudit } from '../../src/serving/audit.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { STATE_FILE } from '../../src/serving/model-state.js';
import { NO_MODEL_ERROR } from '../../src/serving/result-metadata.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { capturingLogger, recommenderDescriptor, recommenderRecord, results, tempDir } from '../support/recommender.js';

const harnesses: StreamletHarness[] = [];
async function start(options: { volume?: string; log?: ReturnType<typeof capturingLogger>['log']; config?: Record<string, unknown> } = {}) {
  const harness = await startStreamlet(ModelServing, {
    name: 'model-serving',
    volumes: { models: options.volume ?? tempDir() },
    log: options.log,
    config: options.config,
  });
  harnesses.push(harness);
  return harness;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
});

async function state(
  h: StreamletHarness,
): Promise<Record<string, unknown> & { updates: { accepted: number; rejected: number; lastRejected: { reason: string; modelName: string }[] } }> {
  const response = await fetch(`${h.url}/state`);
  expect(response.status).toBe(200);
  return (await response.json()) as never;
}

async function install(h: StreamletHarness, descriptor: ModelDescriptor): Promise<void> {
  const before = h.committed('in-1');
  await h.send('in-1', [descriptor]);
  await h.until(() => h.committed('in-1') > before);
}

describe('model-serving', () => {
  it('answers a record that arrives before any model with an error result, counted, not dropped', async () => {
    const h = await start();
    await h.send('in-0', [recommenderRecord(1), recommenderRecord(2)]);
    await h.until(() => h.outputs('out').length === 2);
    for (const r of results(h.outputs('out'))) {
      expect(r.modelResultMetadata.errors).toBe(NO_MODEL_ERROR);
      expect(r.modelResult.products).toEqual([]);
    }
    expect((await state(h)).recordsWithoutModel).toBe(2);
  });

  it('scores with the installed model and reports it at GET /state', async () => {
    const h = await start();
    await install(h, recommenderDescriptor('recommender-a'));
    await h.send(
      'in-0',
      Array.from({ length: 50 }, (_, i) => recommenderRecord(i)),
    );
    await h.until(() => h.outputs('out').length === 50);
    const out = results(h.outputs('out'));
    expect(out.every((r) => r.modelResultMetadata.modelName === 'recommender-a' && r.modelResultMetadata.errors === '')).toBe(true);
    expect(out.map((r) => r.inputRecord.datatype)).toEqual(Array.from({ length: 50 }, (_, i) => `seq-${i}`));
    for (const r of out) {
      expect(r.modelResult.products).toEqual(r.inputRecord.products.map(String));
      expect(r.modelResult.probabilities).toHaveLength(r.inputRecord.products.length);
      for (const p of r.modelResult.probabilities) expect(p > 0 && p < 1).toBe(true);
    }
    const s = await state(h);
    expect(s).toMatchObject({ name: 'recommender-a', modelType: 'ONNX', usage: 50 });
    expect(s.since).toBeGreaterThan(Date.now() - 60_000);
    expect(s.min as number).toBeGreaterThan(0);
    expect(s.max as number).toBeGreaterThanOrEqual(s.min as number);
    expect(s.averageDuration as number).toBeGreaterThanOrEqual(s.min as number);
    expect(s.averageDuration as number).toBeLessThanOrEqual(s.max as number);
  });

  it('shows no strategy or validation at GET /state unless configured', async () => {
    const h = await start();
    await install(h, recommenderDescriptor('recommender-a'));
    const s = await state(h);
    expect(s.updates).toMatchObject({ accepted: 1, rejected: 0, promoted: 0 });
    expect(s).not.toHaveProperty('strategy');
    expect(s).not.toHaveProperty('candidates');
    expect(s).not.toHaveProperty('validation');
  });

  it('restarts the statistics at a swap', async () => {
    const h = await start();
    await install(h, recommenderDescriptor('recommender-a'));
    await h.send('in-0', [recommenderRecord(1), recommenderRecord(2)]);
    await h.until(() => h.outputs('out').length === 2);
    const before = await state(h);
    await install(h, recommenderDescriptor('recommender-b'));
    const after = await state(h);
    expect(after).toMatchObject({ name: 'recommender-b', usage: 0 });
    expect(after.since as number).toBeGreaterThanOrEqual(before.since as number);
  });

  const badUpdates: [string, () => ModelDescriptor, RegExp][] = [
    [
      'corrupt model bytes',
      () => ({ ...recommenderDescriptor('recommender-b'), modelName: 'corrupt', modelBytes: Buffer.from('definitely not an onnx model') }),
      /model corrupt cannot be loaded/,
    ],
    [
      'an unknown model type',
      () => ({ ...recommenderDescriptor('recommender-b'), modelName: 'mystery', modelType: 'UNKNOWN' }),
      /no executor registered for model type UNKNOWN/,
    ],
    [
      'an empty descriptor',
      () => ({ modelName: '', description: '', modelType: 'ONNX', modelBytes: null, modelSourceLocation: null }),
      /the descriptor is empty: it has no modelName and modelBytes or modelSourceLocation/,
    ],
    [
      'a model with the wrong input names',
      () => ({
        ...recommenderDescriptor('recommender-b'),
        modelName: 'renamed',
        modelBytes: Buffer.from(buildRecommenderModel({ name: 'renamed', seed: 3, inputNames: ['u', 'p'] })),
      }),
      /model renamed does not fit: the model has no input 'users' \(its inputs: u, p\)/,
    ],
  ];

  it.each(badUpdates)('keeps the old model serving after %s, with the failure logged and counted', async (_what, bad, reason) => {
    const { log, lines } = capturingLogger();
    const h = await start({ log });
    await install(h, recommenderDescriptor('recommender-a'));
    await install(h, bad());
    await h.send('in-0', [recommenderRecord(7)]);
    await h.until(() => h.outputs('out').length === 1);
    expect(results(h.outputs('out'))[0]?.modelResultMetadata).toMatchObject({ modelName: 'recommender-a', errors: '' });
    const s = await state(h);
    expect(s.name).toBe('recommender-a');
    expect(s.updates).toMatchObject({ accepted: 1, rejected: 1 });
    expect(s.updates.lastRejected[0]?.reason).toMatch(reason);
    const logged = lines().find((l) => l.msg === 'model update rejected; the current model keeps serving');
    expect(String(logged?.error)).toMatch(reason);
    expect(logged?.serving).toBe('recommender-a');
  });

  it('persists the model and serves it after a restart before any update arrives', async () => {
    const volume = tempDir();
    const first = await start({ volume });
    await install(first, recommenderDescriptor('recommender-b'));
    await first.stop();
    harnesses.splice(harnesses.indexOf(first), 1);
    expect(readdirSync(volume)).toEqual([STATE_FILE]);

    const second = await start({ volume });
    await second.send('in-0', [recommenderRecord(3)]);
    await second.until(() => second.outputs('out').length === 1);
    expect(results(second.outputs('out'))[0]?.modelResultMetadata).toMatchObject({ modelName: 'recommender-b', errors: '' });
  });

  it('starts without a model from a corrupt state file, says why, and keeps the file aside', async () => {
    const volume = tempDir();
    writeFileSync(join(volume, STATE_FILE), Buffer.from([0x02, 0xff, 0xff, 0x13]));
    const { log, lines } = capturingLogger();
    const h = await start({ volume, log });
    await h.send('in-0', [recommenderRecord(3)]);
    await h.until(() => h.outputs('out').length === 1);
    expect(results(h.outputs('out'))[0]?.modelResultMetadata.errors).toBe(NO_MODEL_ERROR);
    const logged = lines().find((l) => l.msg === 'cannot restore the persisted model; starting without a model');
    expect(String(logged?.error)).toMatch(/model state file .* is unreadable/);
    expect(readdirSync(volume).filter((f) => f.startsWith(`${STATE_FILE}.corrupt-`))).toHaveLength(1);
  });

  it('swaps under load without losing or repeating a record; results after the acknowledged swap carry the new model', async () => {
    const h = await start({ config: { 'batch-size': 64 } });
    await install(h, recommenderDescriptor('recommender-a'));
    const total = 20_000;
    const chunk = 250;
    let firstAfterAck = -1;
    let swapSent = false;
    for (let sent = 0; sent < total; sent += chunk) {
      if (firstAfterAck < 0 && swapSent && h.committed('in-1') === 2) firstAfterAck = sent;
      await h.send(
        'in-0',
        Array.from({ length: chunk }, (_, i) => recommenderRecord(sent + i)),
      );
      if (sent === total / 4) {
        await h.send('in-1', [recommenderDescriptor('recommender-b')]);
        swapSent = true;
      }
    }
    await h.until(() => h.outputs('out').length >= total, 30_000);
    await h.stop();
    harnesses.splice(harnesses.indexOf(h), 1);

    const out = results(h.outputs('out'));
    expect(out).toHaveLength(total);
    const seen = out.map((r) => Number(r.inputRecord.datatype.slice(4)));
    expect(new Set(seen).size).toBe(total);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(firstAfterAck).toBeGreaterThan(0);
    const models = out.map((r) => r.modelResultMetadata.modelName);
    expect(models.slice(firstAfterAck).every((m) => m === 'recommender-b')).toBe(true);
    expect(models[0]).toBe('recommender-a');
    // One switch-over point, no flapping back to the old model.
    expect(models.lastIndexOf('recommender-a')).toBeLessThan(models.indexOf('recommender-b'));
  });

  it('dead-letters a record that cannot be decoded and goes on', async () => {
    const h = await start();
    await install(h, recommenderDescriptor('recommender-a'));
    await h.sendRaw('in-0', [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
    await h.send('in-0', [recommenderRecord(1)]);
    await h.until(() => h.outputs('out').length === 1 && h.deadLetters.length === 1);
    expect(h.deadLetters[0]).toMatchObject({ topic: 'inlet-in-0', streamlet: 'model-serving', inlet: 'in-0' });
    expect(h.deadLetters[0]?.reason).toMatch(/record on model-serving.in-0 cannot be decoded with schema sluice.examples.recommender.RecommenderRecord/);
    expect(Buffer.compare(h.deadLetters[0]?.payload ?? Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(0);
  });

  it('answers a record without products with an empty result, in a batch with others', async () => {
    const h = await start();
    await install(h, recommenderDescriptor('recommender-a'));
    await h.send('in-0', [recommenderRecord(1), { user: 3, products: [], datatype: 'empty' }, recommenderRecord(2)]);
    await h.until(() => h.outputs('out').length === 3);
    const [first, empty, last] = results(h.outputs('out'));
    expect(empty?.modelResult).toEqual({ products: [], probabilities: [] });
    expect(empty?.modelResultMetadata).toMatchObject({ errors: '', modelName: 'recommender-a' });
    expect(first?.modelResult.probabilities).toHaveLength(recommenderRecord(1).products.length);
    expect(last?.modelResult.probabilities).toHaveLength(recommenderRecord(2).products.length);
  });

  it('gives a record whose scoring fails an error result, and scores the rest of its batch', async () => {
    const h = await start();
    await install(h, recommenderDescriptor('recommender-a'));
    await h.send('in-0', [
      recommenderRecord(1),
      { user: -5, products: [1, 2], datatype: 'bad' },
      { user: 4, products: [100_000], datatype: 'out-of-range' },
      recommenderRecord(2),
    ]);
    await h.until(() => h.outputs('out').length === 4);
    const out = results(h.outputs('out'));
    expect(out.map((r) => r.modelResultMetadata.errors === '')).toEqual([true, false, false, true]);
    expect(out[1]?.modelResultMetadata.errors).toMatch(/user id -5 is not a non-negative integer/);
    expect(out[2]?.modelResultMetadata.errors).toMatch(/inference with model recommender-a failed/);
    expect((await state(h)).failedRecords).toBe(2);
  });
});

describe('model-serving audit outlet', () => {
  it('writes the configured share of scored records, with input, output and the model that scored them', async () => {
    const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() }, config: { 'audit-sample-rate': 0.25 } });
    try {
      await h.send('in-1', [recommenderDescriptor('recommender-a')]);
      await h.until(() => h.committed('in-1') === 1);
      await h.send(
        'in-0',
        Array.from({ length: 100 }, (_, i) => recommenderRecord(i)),
      );
      await h.until(() => h.outputs('out').length === 100 && h.outputs('audit').length === 25);
      const audit = h.outputs('audit') as ScoringAudit[];
      const since = results(h.outputs('out'))[0]?.modelResultMetadata.startTime;
      for (const entry of audit) {
        expect(entry).toMatchObject({ streamlet: 'model-serving', modelName: 'recommender-a', modelSince: since, source: 'ONNX embedded', errors: '' });
        const input = JSON.parse(entry.input) as { datatype: string };
        const output = JSON.parse(entry.output) as { inputRecord: { datatype: string }; modelResult: { probabilities: number[] } };
        expect(output.inputRecord.datatype).toBe(input.datatype);
        expect(output.modelResult.probabilities.length).toBeGreaterThan(0);
      }
      // Evenly spread: every fourth record.
      expect(audit.map((a) => (JSON.parse(a.input) as { datatype: string }).datatype)).toEqual(Array.from({ length: 25 }, (_, i) => `seq-${i * 4 + 3}`));
    } finally {
      await h.stop();
    }
  });

  it('names the model that scored each record, a canary candidate included', async () => {
    const h = await startStreamlet(ModelServing, {
      name: 'model-serving',
      volumes: { models: tempDir() },
      config: { 'audit-sample-rate': 1, strategy: 'canary', candidates: 'recommender-b', 'canary-weight': 0.5 },
    });
    try {
      await h.send('in-1', [recommenderDescriptor('recommender-a'), recommenderDescriptor('recommender-b')]);
      await h.until(() => h.committed('in-1') === 2);
      await h.send(
        'in-0',
        Array.from({ length: 200 }, (_, i) => recommenderRecord(i)),
      );
      await h.until(() => h.outputs('out').length === 200 && h.outputs('audit').length === 200);
      const out = results(h.outputs('out'));
      const audit = h.outputs('audit') as ScoringAudit[];
      expect(audit.map((a) => a.modelName)).toEqual(out.map((r) => r.modelResultMetadata.modelName));
      expect(new Set(audit.map((a) => a.modelName))).toEqual(new Set(['recommender-a', 'recommender-b']));
    } finally {
      await h.stop();
    }
  });

  it('writes nothing by default', async () => {
    const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() } });
    await h.send('in-0', [recommenderRecord(1)]);
    await h.until(() => h.outputs('out').length === 1);
    await h.stop();
    expect(h.outputs('audit')).toEqual([]);
  });
});
