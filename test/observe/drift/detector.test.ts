/** The drift detector streamlet, run in-process with the testkit: what it reads, what it emits, what it refuses. */
import { afterEach, describe, expect, it } from 'vitest';
import { FraudResultSchema } from '../../../examples/fraud/schemas.js';
import { createLogger } from '../../../src/core/log.js';
import { defineSchema, type AvroValue } from '../../../src/core/schema.js';
import { driftDetector } from '../../../src/observe/drift/detector.js';
import type { DriftEvent } from '../../../src/observe/drift/drift-event.js';
import type { ModelDescriptor } from '../../../src/serving/descriptor.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { seededRandom } from '../../../src/util/random.js';
import { categorical, seededGaussian } from './support.js';

const paymentDefinition = {
  type: 'record',
  name: 'Payment',
  namespace: 'test.drift',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'amount', type: 'double' },
    { name: 'merchant', type: 'string' },
    { name: 'channel', type: { type: 'enum', name: 'Channel', symbols: ['web', 'app', 'pos'] } },
    { name: 'result', type: { type: 'record', name: 'Scored', fields: [{ name: 'score', type: ['null', 'double'], default: null }] } },
  ],
} as const;
const Payment = defineSchema(paymentDefinition);
type Payment = AvroValue<typeof paymentDefinition>;

const features = {
  amount: 'numeric',
  merchant: 'categorical',
  channel: 'categorical',
  // A result's score, nested in the record: watched like any numeric feature.
  score: { kind: 'numeric', value: (p: Payment) => p.result.score },
} as const;

function payments(seed: number) {
  const gaussian = seededGaussian(seed);
  const random = seededRandom(seed + 1);
  const merchant = categorical(random, { shop: 0.5, cafe: 0.3, fuel: 0.2 });
  const channel = categorical(random, { web: 0.4, app: 0.4, pos: 0.2 });
  let id = 0;
  return (count: number, amountShift = 0): Payment[] =>
    Array.from({ length: count }, () => ({
      id: id++,
      amount: 50 + 10 * gaussian() + 10 * amountShift,
      merchant: merchant(),
      channel: channel() as Payment['channel'],
      result: { score: 0.1 + 0.02 * gaussian() },
    }));
}

function descriptor(modelName: string): ModelDescriptor {
  return { modelName, description: 'a model the detector only names', modelType: 'ONNX', modelBytes: Buffer.from([1]), modelSourceLocation: null };
}

const harnesses: StreamletHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
});
async function start(definition: Parameters<typeof startStreamlet>[0], config: Record<string, unknown> = {}) {
  const h = await startStreamlet(definition, { name: 'drift', config });
  harnesses.push(h);
  return h;
}
const events = (h: StreamletHarness) => h.outputs('drift') as readonly DriftEvent[];
const small = { 'reference-size': 400, 'window-size': 200, 'numeric-tests': 'ks' };

describe('drift detector streamlet', () => {
  it('emits an event per feature and test per window, and flags a shifted amount in the first shifted window', async () => {
    const h = await start(driftDetector({ data: Payment, features }), small);
    const draw = payments(1);
    await h.send('in', [...draw(400), ...draw(200), ...draw(200, 1)]);
    await h.until(() => events(h).length === 8);
    const [first, second] = [events(h).slice(0, 4), events(h).slice(4)];
    expect(first.map((e) => `${e.feature}/${e.test}/${e.windowIndex}`)).toEqual(['amount/KS/0', 'merchant/CHI2/0', 'channel/CHI2/0', 'score/KS/0']);
    expect(first.every((e) => !e.drifted)).toBe(true);
    expect(second.filter((e) => e.drifted).map((e) => e.feature)).toEqual(['amount']);
    expect(second[0]).toMatchObject({ feature: 'amount', test: 'KS', windowIndex: 1, referenceSize: 400, windowSize: 200, modelName: '', threshold: 0.01 / 4 });
    expect(second[0]?.pValue).toBeLessThan(1e-6);
    expect(second.find((e) => e.feature === 'channel')?.degreesOfFreedom).toBe(2);
  });

  it('emits only drifted tests with emit = drifted', async () => {
    const h = await start(driftDetector({ data: Payment, features }), { ...small, emit: 'drifted' });
    const draw = payments(2);
    await h.send('in', [...draw(400), ...draw(200), ...draw(200, 1)]);
    await h.until(() => h.committed('in') === 800);
    await h.until(() => events(h).length >= 1);
    expect(events(h).map((e) => `${e.feature}/${e.test}/${e.windowIndex}`)).toEqual(['amount/KS/1']);
  });

  it('captures a new reference when a model is installed on the models inlet, and names the model in its events', async () => {
    const h = await start(driftDetector({ data: Payment, features, modelUpdates: true }), small);
    const draw = payments(3);
    await h.send('in', [...draw(400), ...draw(200)]);
    await h.until(() => events(h).length === 4);
    await h.send('models', [descriptor('fraud-v2')]);
    await h.until(() => h.committed('models') === 1);
    // The shifted records are what fraud-v2 first sees: they are its reference, and no drift.
    await h.send('in', [...draw(400, 1), ...draw(200, 1)]);
    await h.until(() => events(h).length === 8);
    const after = events(h).slice(4);
    expect(after.every((e) => e.modelName === 'fraud-v2' && e.windowIndex === 0 && !e.drifted)).toBe(true);
    const state = (await (await fetch(`${h.url}/drift`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ modelName: 'fraud-v2', phase: 'monitoring', referenceRecords: 400, windowIndex: 1, driftedWindows: 0 });
  });

  it('counts windows and detections at GET /metrics', async () => {
    const h = await start(driftDetector({ data: Payment, features }), small);
    const draw = payments(4);
    await h.send('in', [...draw(400), ...draw(200), ...draw(200, 1)]);
    await h.until(() => events(h).length === 8);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/sluice_drift_windows_total\{streamlet="drift"\} 2/);
    expect(metrics).toMatch(/sluice_drift_detected_total\{[^}]*feature="amount"[^}]*test="KS"[^}]*\} 1/);
    expect(metrics).toMatch(/sluice_drift_statistic\{[^}]*feature="merchant"[^}]*test="CHI2"[^}]*\} \d/);
  });

  it('watches the fraud example’s results as docs/drift.md shows: nested inputs, the output score and the verdict', () => {
    const detector = driftDetector({
      data: FraudResultSchema,
      features: {
        amount: { kind: 'numeric', value: (r) => r.inputRecord.amount },
        score: { kind: 'numeric', value: (r) => r.score },
        verdict: 'categorical',
      },
      modelUpdates: true,
    });
    expect(Object.keys(detector.inlets)).toEqual(['in', 'models']);
    expect(Object.keys(detector.outlets)).toEqual(['drift']);
  });

  describe('refuses', () => {
    it.each([
      [{ 'window-size': -5 }, 'config of drift: window-size must be at least 1, got -5'],
      [{ 'reference-size': 1 }, 'reference-size must be at least 2, got 1'],
      [{ 'psi-threshold': 'high' }, 'psi-threshold expected a number, got "high"'],
      [{ significance: 0.9 }, 'significance must be at most 0.5, got 0.9'],
      [{ correction: 'holm' }, 'correction expected one of bonferroni, none, got "holm"'],
      [{ 'numeric-tests': 'anderson' }, 'numeric-tests expected one of ks, psi, both, got "anderson"'],
      [{ emit: 'some' }, 'emit expected one of all, drifted, got "some"'],
      [{ windowsize: 10 }, 'windowsize is unknown'],
    ])('config %j', async (config, message) => {
      await expect(startStreamlet(driftDetector({ data: Payment, features }), { name: 'drift', config })).rejects.toThrow(message);
    });

    it('a min-samples larger than a window, naming the streamlet and key when it starts', async () => {
      const h = await startStreamlet(driftDetector({ data: Payment, features }), {
        name: 'drift',
        config: { 'window-size': 50, 'min-samples': 80 },
        log: createLogger({ level: 'silent' }),
      });
      const outcome = await h.app.finished;
      await h.stop();
      expect(outcome.ok).toBe(false);
      expect(outcome.ok ? '' : outcome.error.message).toContain('drift.min-samples: 80 is more than window-size (50): no feature could ever be tested');
    });

    it.each([
      [{ amount: 'ordinal' }, "feature 'amount' has an unknown kind 'ordinal' (kinds: numeric, categorical)"],
      [{ country: 'categorical' }, "feature 'country' is not a field of test.drift.Payment (its fields: id, amount, merchant, channel, result)"],
      [{ merchant: 'numeric' }, "feature 'merchant' is numeric, but field test.drift.Payment.merchant is string (numeric takes int, long, float, double)"],
      [{ result: 'numeric' }, "feature 'result' is numeric, but field test.drift.Payment.result is record"],
      [{ score: { kind: 'numeric', value: 'result.score' } }, "feature 'score': value must be a function of the record"],
      [{}, 'no features are declared'],
    ])('features %j', (bad, message) => {
      expect(() => driftDetector({ data: Payment, features: bad as never })).toThrow(message);
    });

    it('every feature problem at once, in a SluiceError naming the schema', () => {
      let error: unknown;
      try {
        driftDetector({ data: Payment, features: { amount: 'ordinal', country: 'numeric' } as never });
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ name: 'SluiceError', code: 'SLUICE_ERR_INVALID_ARGUMENT' });
      expect((error as Error).message).toMatch(
        /^drift detector on test\.drift\.Payment: feature 'amount' has an unknown kind .*; feature 'country' is not a field/,
      );
    });
  });
});
