/**
 * The fraud model as training makes it: trained here, in this process, by the project's own code
 * (TF.js, WebAssembly backend), then judged on fresh data of other seeds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLD } from '../../examples/fraud/adapter.js';
import { DetectionTally } from '../../examples/fraud/console-egress.js';
import { INPUT_WIDTH, TransactionGenerator } from '../../examples/fraud/generator.js';
import { fraudModelServing } from '../../examples/fraud/model-serving.js';
import {
  buildFraudOnnx,
  buildFraudTfjsArchive,
  FRAUD_MODEL_NAME,
  reconstructionErrors,
  trainFraudAutoencoder,
  type TrainedFraudModel,
} from '../../examples/fraud/models/train.js';
import { transactionFeatures, type FraudResult, type TransactionRecord } from '../../examples/fraud/schemas.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { onnxExecutor } from '../../src/serving/executors/onnx.js';
import { archiveLoadHandler } from '../../src/serving/executors/tfjs/handlers.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { root } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';
import { describeTally } from './support.js';

let trained: TrainedFraudModel;
beforeAll(async () => {
  trained = await trainFraudAutoencoder();
}, 180_000);

const descriptor = (bytes: Uint8Array): ModelDescriptor => ({
  modelName: FRAUD_MODEL_NAME,
  description: 'trained in the test',
  modelType: 'ONNX',
  modelBytes: Buffer.from(bytes),
  modelSourceLocation: null,
});

/** Fresh transactions (normal and fraud, no missing fields) as model input rows. */
function freshRows(seed: number, count: number): Float32Array {
  const generator = new TransactionGenerator({ seed, fraudFraction: 0.2, missingFraction: 0 });
  const rows = new Float32Array(count * INPUT_WIDTH);
  for (let i = 0; i < count; i++) {
    const r = generator.next();
    transactionFeatures.forEach((f, j) => (rows[i * INPUT_WIDTH + j] = r[f] as number));
  }
  return rows;
}

/** |a − b| within 1e-6 absolute plus 1e-4 relative: float32 arithmetic against the double-precision reference. */
function expectClose(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)) / (1e-6 + 1e-4 * Math.abs(expected[i] as number)));
  expect(worst).toBeLessThanOrEqual(1);
}

describe('the trained fraud autoencoder', () => {
  it('has the architecture 29→14→7→14→29 and picks the threshold model-serving defaults to', () => {
    const { autoencoder, report } = trained;
    expect(autoencoder.layers.map((l) => [l.inputs, l.units, l.activation])).toEqual([
      [29, 14, 'relu'],
      [14, 7, 'relu'],
      [7, 14, 'relu'],
      [14, 29, 'linear'],
    ]);
    expect(report.finalLoss).toBeLessThan(0.05);
    expect(autoencoder.threshold).toBeGreaterThan(report.validationErrors.p999);
    // Training is seeded: it gives the threshold the streamlet's default was set from.
    expect(Math.abs(autoencoder.threshold - DEFAULT_THRESHOLD) / DEFAULT_THRESHOLD).toBeLessThan(0.02);
  });

  it('is what the example ships: the shipped ONNX model scores as the model trained here', async () => {
    const shipped = join(root, 'examples', 'fraud', 'models');
    const sidecar = JSON.parse(readFileSync(join(shipped, `${FRAUD_MODEL_NAME}.json`), 'utf8')) as { threshold: number };
    expect(sidecar.threshold).toBe(DEFAULT_THRESHOLD);
    const model = await onnxExecutor.load(descriptor(readFileSync(join(shipped, `${FRAUD_MODEL_NAME}.onnx`))));
    try {
      const rows = freshRows(77, 500);
      const out = await model.infer({ features: { dtype: 'float32', shape: [500, INPUT_WIDTH], data: rows } });
      expectClose(out.score?.data as Float32Array, reconstructionErrors(trained.autoencoder, rows));
    } finally {
      await model.unload();
    }
  });

  it('exports to ONNX and to TF.js, both computing the reference reconstruction errors', async () => {
    const n = 2_000;
    const rows = freshRows(31, n);
    const reference = reconstructionErrors(trained.autoencoder, rows);

    const onnx = await onnxExecutor.load(descriptor(buildFraudOnnx(trained.autoencoder)));
    try {
      const out = await onnx.infer({ features: { dtype: 'float32', shape: [n, INPUT_WIDTH], data: rows } });
      expect(out.score?.shape).toEqual([n, 1]);
      expectClose(out.score?.data as Float32Array, reference);
    } finally {
      await onnx.unload();
    }

    const model = await tf.loadLayersModel(archiveLoadHandler(await buildFraudTfjsArchive(trained.autoencoder)));
    try {
      const scores = tf.tidy(() => (model.predict(tf.tensor2d(rows, [n, INPUT_WIDTH]), { batchSize: n }) as tf.Tensor).dataSync());
      expectClose(scores, reference);
    } finally {
      model.dispose();
    }
  });
});

describe('the trained model in the fraud model-serving streamlet, on fresh data of another seed', () => {
  const total = 20_000;
  const records: TransactionRecord[] = [];
  let results: FraudResult[] = [];
  let harness: StreamletHarness;

  beforeAll(async () => {
    const generator = new TransactionGenerator({ seed: 2024, fraudFraction: 0.01, missingFraction: 0.005 });
    for (let i = 0; i < total; i++) records.push(generator.next());
    // The default threshold: what a user runs without configuring anything.
    harness = await startStreamlet(fraudModelServing(), { name: 'model-serving', volumes: { models: tempDir() } });
    await harness.send('in-1', [descriptor(buildFraudOnnx(trained.autoencoder))]);
    await harness.until(() => harness.committed('in-1') === 1);
    for (let i = 0; i < total; i += 1_000) await harness.send('in-0', records.slice(i, i + 1_000));
    await harness.until(() => harness.outputs('out').length === total, 60_000);
    results = harness.outputs('out') as FraudResult[];
  }, 120_000);
  afterAll(() => harness?.stop());

  it('answers every record, in order, scored by the trained model', () => {
    expect(results.map((r) => r.inputRecord.id)).toEqual(records.map((r) => r.id));
    expect(results.every((r) => r.threshold === DEFAULT_THRESHOLD)).toBe(true);
    expect(results.every((r) => r.modelResultMetadata.modelName === FRAUD_MODEL_NAME)).toBe(true);
  });

  it("reaches precision and recall above 0.9 against the generator's labels", () => {
    const tally = new DetectionTally();
    for (const r of results) tally.add(r);
    const fraud = records.filter((r) => r.label).length;
    expect(fraud).toBeGreaterThan(150);
    console.info(`fraud detector on ${total} fresh transactions (seed 2024, ${fraud} fraudulent): ${describeTally(tally)}`);
    expect(tally.precision).toBeGreaterThan(0.9);
    expect(tally.recall).toBeGreaterThan(0.9);
  });

  it('answers exactly the records with a missing field with an error result naming the fields', () => {
    const missing = (r: TransactionRecord) => transactionFeatures.filter((f) => r[f] === null);
    const incomplete = results.filter((r) => missing(r.inputRecord).length > 0);
    expect(incomplete.length).toBeGreaterThan(50);
    for (const r of incomplete) {
      expect(r.verdict).toBe('error');
      expect(r.score).toBeNull();
      expect(r.modelResultMetadata.errors).toBe(`cannot score the record: missing fields: ${missing(r.inputRecord).join(', ')}`);
    }
    const complete = results.filter((r) => missing(r.inputRecord).length === 0);
    expect(complete.every((r) => r.verdict !== 'error' && r.modelResultMetadata.errors === '' && typeof r.score === 'number')).toBe(true);
  });
});
