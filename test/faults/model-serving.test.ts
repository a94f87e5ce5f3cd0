/**
 * Faults around the model-serving streamlet on the local runtime: malformed input of every
 * kind, model swaps every few milliseconds under load, and a model-state volume that is
 * corrupt, full or read-only. Every scenario checks the output against the input.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { fraudModelServing } from '../../examples/fraud/model-serving.js';
import type { FraudResult, TransactionRecord } from '../../examples/fraud/schemas.js';
import { RecommenderRecordSchema } from '../../examples/recommender/schemas.js';
import { ModelServing } from '../../examples/recommender/streamlets.js';
import { defineSchema } from '../../src/core/schema.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { STATE_FILE } from '../../src/serving/model-state.js';
import { NO_MODEL_ERROR } from '../../src/serving/result-metadata.js';
import { encodeModel, float32Initializer, node, valueInfo } from '../../src/serving/onnx-builder.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { capturingLogger, recommenderDescriptor, recommenderRecord, results, tempDir } from '../support/recommender.js';
import { recordOutcome, reconcile } from './ledger.js';

const harnesses: StreamletHarness[] = [];
const mounts: string[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
  for (const mount of mounts.splice(0)) execFileSync('umount', [mount]);
});

async function serving(volume: string, log = capturingLogger().log): Promise<StreamletHarness> {
  const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: volume }, log, config: { 'batch-size': 64 } });
  harnesses.push(h);
  return h;
}

async function install(h: StreamletHarness, descriptor: ModelDescriptor): Promise<void> {
  const before = h.committed('in-1');
  await h.send('in-1', [descriptor]);
  await h.until(() => h.committed('in-1') > before);
}

/** A small file system of `size` for a model-state volume, unmounted after the test. */
function tmpfs(size: string): string {
  const dir = tempDir('sluice-fault-volume-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`the volume scenarios mount a tmpfs (they run as root in CI): ${(err as Error).message}`);
  }
  mounts.push(dir);
  return dir;
}

const idOf = (datatype: string) => datatype;

describe('fault: malformed input', () => {
  it('dead-letters what cannot be decoded, answers what cannot be scored with an error, and loses nothing', async () => {
    const h = await serving(tempDir());
    await install(h, recommenderDescriptor('recommender-a'));
    const Other = defineSchema({ type: 'record', name: 'Other', fields: [{ name: 'text', type: 'string' }] } as const);

    const sent: string[] = [];
    // Payloads that cannot be decoded, by their bytes (equal payloads, e.g. empty ones, share a key).
    const undecodable = new Map<string, string[]>();
    const payloads: Buffer[] = [];
    const send = (id: string, payload: Buffer) => {
      sent.push(id);
      payloads.push(payload);
    };
    const encoded = (i: number, change: Partial<ReturnType<typeof recommenderRecord>> = {}) =>
      RecommenderRecordSchema.encode({ ...recommenderRecord(i), ...change, datatype: `seq-${i}` });
    const bad = (id: string, payload: Buffer) => {
      const key = payload.toString('hex');
      undecodable.set(key, [...(undecodable.get(key) ?? []), id]);
      send(id, payload);
    };
    for (let i = 0; i < 2_000; i++) {
      send(`seq-${i}`, encoded(i));
      if (i % 200 === 0) {
        const whole = encoded(1_000_000 + i);
        bad(`truncated-${i}`, whole.subarray(0, Math.floor(whole.length / 2)));
        bad(`wrong-schema-${i}`, Other.encode({ text: `not a recommender record ${i}` }));
        bad(`empty-${i}`, Buffer.alloc(0));
        bad(`trailing-${i}`, Buffer.concat([encoded(2_000_000 + i), Buffer.from([1, 2, 3])]));
      }
      if (i % 250 === 0) {
        send(`seq-${3_000_000 + i}`, encoded(3_000_000 + i, { user: -5 }));
        send(`seq-${4_000_000 + i}`, encoded(4_000_000 + i, { products: [] }));
        send(`seq-${5_000_000 + i}`, encoded(5_000_000 + i, { products: [1, -1, 2] }));
        send(`seq-${6_000_000 + i}`, encoded(6_000_000 + i, { products: Array.from({ length: 50_000 }, (_, k) => k % 300) }));
        send(`seq-${7_000_000 + i}`, encoded(7_000_000 + i, { user: 1_000_000_000_000 }));
      }
    }
    await h.sendRaw('in-0', payloads);
    const undecodableCount = [...undecodable.values()].reduce((n, ids) => n + ids.length, 0);
    const expectedOut = sent.length - undecodableCount;
    await h.until(() => h.outputs('out').length + h.deadLetters.length >= sent.length, 60_000);

    const out = results(h.outputs('out'));
    const deadIds = h.deadLetters.map((d) => undecodable.get(Buffer.from(d.payload).toString('hex'))?.shift() ?? 'unknown');
    const { lost, duplicated, unexpected } = reconcile(
      sent,
      out.map((r) => idOf(r.inputRecord.datatype)),
      deadIds,
    );
    const errorResults = out.filter((r) => r.modelResultMetadata.errors !== '');
    recordOutcome({
      scenario: 'malformed input (truncated, wrong schema, empty, trailing bytes, negative ids, empty and huge arrays)',
      sent: sent.length,
      lost: lost.length,
      duplicated: duplicated.length,
      deadLettered: h.deadLetters.length,
      errorResults: errorResults.length,
    });
    expect({ lost, duplicated, unexpected }).toEqual({ lost: [], duplicated: [], unexpected: [] });
    expect(out).toHaveLength(expectedOut);
    expect(h.deadLetters).toHaveLength(undecodableCount);
    for (const letter of h.deadLetters)
      expect(letter.reason).toMatch(/^record on model-serving.in-0 cannot be decoded with schema sluice\.examples\.recommender\.RecommenderRecord: /);
    // Ids the model cannot take are answered with the reason; every other record is scored.
    const byId = new Map(out.map((r) => [r.inputRecord.datatype, r]));
    expect(byId.get('seq-3000000')?.modelResultMetadata.errors).toBe('user id -5 is not a non-negative integer');
    expect(byId.get('seq-5000000')?.modelResultMetadata.errors).toBe('product id -1 is not a non-negative integer');
    expect(byId.get('seq-4000000')?.modelResultMetadata.errors).toBe('');
    expect(byId.get('seq-4000000')?.modelResult.products).toEqual([]);
    expect(byId.get('seq-6000000')?.modelResult.probabilities).toHaveLength(50_000);
    // An id past the model's table is the model's own error, record by record.
    expect(byId.get('seq-7000000')?.modelResultMetadata.errors).toMatch(/^inference with model recommender-a failed: .*indices element out of data bounds/);
    expect(errorResults).toHaveLength(3 * 8);
  });

  it('answers NaN and out-of-range features with an error naming the field, and loses no record', async () => {
    const width = 29;
    // score = sum of the features: NaN in, NaN out; Infinity in, Infinity out.
    const sum = encodeModel({
      name: 'sum',
      inputs: [valueInfo('features', 'float32', ['batch', width])],
      outputs: [valueInfo('score', 'float32', ['batch', 1])],
      initializers: [float32Initializer('ones', [width, 1], new Array(width).fill(1))],
      nodes: [node('MatMul', ['features', 'ones'], ['score'])],
    });
    const h = await startStreamlet(fraudModelServing(), { name: 'fraud-serving', volumes: { models: tempDir() }, log: capturingLogger().log });
    harnesses.push(h);
    await install(h, { modelName: 'sum', description: 'sum of features', modelType: 'ONNX', modelBytes: Buffer.from(sum), modelSourceLocation: null });
    const transaction = (id: number, value: number): TransactionRecord => {
      const record: Record<string, unknown> = { id, amount: 1, label: false };
      for (let f = 1; f <= 28; f++) record[`v${f}`] = f === 3 ? value : 0.1;
      return record as TransactionRecord;
    };
    const values = [0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Number.MAX_VALUE];
    const records = Array.from({ length: 600 }, (_, i) => transaction(i, values[i % values.length] as number));
    await h.send('in-0', records);
    await h.until(() => h.outputs('out').length >= records.length);
    const out = h.outputs('out') as FraudResult[];
    const { lost, duplicated } = reconcile(
      records.map((r) => String(r.id)),
      out.map((r) => String(r.inputRecord.id)),
      [],
    );
    const errors = out.filter((r) => r.verdict === 'error');
    recordOutcome({
      scenario: 'NaN and Infinity features',
      sent: records.length,
      lost: lost.length,
      duplicated: duplicated.length,
      deadLettered: 0,
      errorResults: errors.length,
    });
    expect({ lost, duplicated }).toEqual({ lost: [], duplicated: [] });
    // NaN is how a missing value arrives; a value float32 cannot hold is named with its field.
    const reasons = new Map(errors.map((r) => [String(r.inputRecord.v3), r.modelResultMetadata.errors]));
    expect(Object.fromEntries(reasons)).toEqual({
      NaN: 'cannot score the record: missing fields: v3',
      Infinity: 'cannot score the record: fields that are not float32 numbers: v3=Infinity',
      '-Infinity': 'cannot score the record: fields that are not float32 numbers: v3=-Infinity',
      '1.7976931348623157e+308': 'cannot score the record: fields that are not float32 numbers: v3=1.7976931348623157e+308',
    });
    expect(errors).toHaveLength(400);
    expect(out.filter((r) => r.verdict !== 'error').every((r) => r.score !== null && Math.abs(r.score - (27 * 0.1 + 1 + (r.inputRecord.v3 ?? 0))) < 1e-4)).toBe(
      true,
    );
  });
});

describe('fault: model swaps every few milliseconds under load', () => {
  it('scores every record exactly once, each with one of the models, while the model changes hundreds of times', async () => {
    const h = await serving(tempDir());
    const models = [recommenderDescriptor('recommender-a'), recommenderDescriptor('recommender-b')];
    await install(h, models[0] as ModelDescriptor);
    let swapping = true;
    let updates = 0;
    const storm = (async () => {
      while (swapping) {
        await h.send('in-1', [models[updates++ % 2] as ModelDescriptor]);
        await sleep(3);
      }
    })();
    const total = 30_000;
    for (let from = 0; from < total; from += 500) {
      await h.send(
        'in-0',
        Array.from({ length: 500 }, (_, k) => recommenderRecord(from + k)),
      );
    }
    await h.until(() => h.outputs('out').length >= total, 60_000);
    swapping = false;
    await storm;
    const out = results(h.outputs('out'));
    const { lost, duplicated } = reconcile(
      Array.from({ length: total }, (_, i) => `seq-${i}`),
      out.map((r) => r.inputRecord.datatype),
      [],
    );
    const errors = out.filter((r) => r.modelResultMetadata.errors !== '');
    const state = (await (await fetch(`${h.url}/state`)).json()) as { updates: { accepted: number } };
    recordOutcome({
      scenario: 'model swap every 3 ms under load',
      sent: total,
      lost: lost.length,
      duplicated: duplicated.length,
      deadLettered: h.deadLetters.length,
      errorResults: errors.length,
      notes: `${state.updates.accepted} swaps`,
    });
    expect({ lost, duplicated, errors: errors.length }).toEqual({ lost: [], duplicated: [], errors: 0 });
    expect(new Set(out.map((r) => r.modelResultMetadata.modelName))).toEqual(new Set(['recommender-a', 'recommender-b']));
    expect(state.updates.accepted).toBeGreaterThan(20);
  });
});

describe('fault: the model-state volume', () => {
  const records = (from: number, count: number) => Array.from({ length: count }, (_, k) => recommenderRecord(from + k));

  async function scoreAll(h: StreamletHarness, from: number, count: number): Promise<void> {
    const before = h.outputs('out').length;
    await h.send('in-0', records(from, count));
    await h.until(() => h.outputs('out').length >= before + count);
  }

  it('a corrupt state file: starts without a model, keeps the file aside, answers records, then serves the next update', async () => {
    const volume = tempDir();
    writeFileSync(join(volume, STATE_FILE), Buffer.from('this is not an avro model descriptor'));
    const capture = capturingLogger();
    const h = await serving(volume, capture.log);
    await scoreAll(h, 0, 100);
    await install(h, recommenderDescriptor('recommender-b'));
    await scoreAll(h, 100, 100);
    const out = results(h.outputs('out'));
    const { lost, duplicated } = reconcile(
      records(0, 200).map((r) => r.datatype),
      out.map((r) => r.inputRecord.datatype),
      [],
    );
    recordOutcome({
      scenario: 'corrupt model-state file',
      sent: 200,
      lost: lost.length,
      duplicated: duplicated.length,
      deadLettered: 0,
      errorResults: out.filter((r) => r.modelResultMetadata.errors !== '').length,
      notes: 'first 100 before any model: No model server defined',
    });
    expect({ lost, duplicated }).toEqual({ lost: [], duplicated: [] });
    expect(out.slice(0, 100).every((r) => r.modelResultMetadata.errors === NO_MODEL_ERROR)).toBe(true);
    expect(out.slice(100).every((r) => r.modelResultMetadata.modelName === 'recommender-b' && r.modelResultMetadata.errors === '')).toBe(true);
    expect(readdirSync(volume).some((f) => f.startsWith(`${STATE_FILE}.corrupt-`))).toBe(true);
    expect(capture.lines().some((l) => l.msg === 'cannot restore the persisted model; starting without a model')).toBe(true);
  });

  for (const kind of ['full', 'read-only'] as const) {
    it(`a ${kind} volume: the new model serves, the failure to persist is logged and counted, no record is lost`, async () => {
      const volume = tmpfs('256k');
      if (kind === 'full') {
        // Fill it up, leaving no room for the model.
        mkdirSync(join(volume, 'filler'));
        try {
          execFileSync('dd', ['if=/dev/zero', `of=${join(volume, 'filler', 'blob')}`, 'bs=4k', 'count=1000'], { stdio: 'pipe' });
        } catch {
          // dd stops with "No space left on device": the point.
        }
      } else {
        execFileSync('mount', ['-o', 'remount,ro', volume]);
      }
      const capture = capturingLogger();
      const h = await serving(volume, capture.log);
      await install(h, recommenderDescriptor('recommender-a'));
      await scoreAll(h, 0, 500);
      const out = results(h.outputs('out'));
      const { lost, duplicated } = reconcile(
        records(0, 500).map((r) => r.datatype),
        out.map((r) => r.inputRecord.datatype),
        [],
      );
      const state = (await (await fetch(`${h.url}/state`)).json()) as { name: string; updates: { persistFailures: number } };
      recordOutcome({
        scenario: `${kind} model-state volume`,
        sent: 500,
        lost: lost.length,
        duplicated: duplicated.length,
        deadLettered: 0,
        errorResults: out.filter((r) => r.modelResultMetadata.errors !== '').length,
        notes: `persist failures: ${state.updates.persistFailures}`,
      });
      expect({ lost, duplicated }).toEqual({ lost: [], duplicated: [] });
      expect(out.every((r) => r.modelResultMetadata.modelName === 'recommender-a' && r.modelResultMetadata.errors === '')).toBe(true);
      expect(state.name).toBe('recommender-a');
      expect(state.updates.persistFailures).toBe(1);
      const logged = capture.lines().find((l) => l.msg === 'cannot persist the serving model; it serves, but a restart will not restore it');
      expect(String(logged?.error)).toMatch(kind === 'full' ? /ENOSPC/ : /EROFS/);
      // No half-written temp file is left behind to fill the volume further.
      expect(readdirSync(volume).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }
});
