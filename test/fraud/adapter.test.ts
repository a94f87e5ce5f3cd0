import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLD, fraudAdapter } from '../../examples/fraud/adapter.js';
import { fraudModelServing } from '../../examples/fraud/model-serving.js';
import { buildFraudOnnx, buildFraudTfjsArchive, reconstructionErrors, useWasmBackend, type Autoencoder } from '../../examples/fraud/models/train.js';
import { transactionFeatures, type FraudResult, type TransactionRecord } from '../../examples/fraud/schemas.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { onnxExecutor } from '../../src/serving/executors/onnx.js';
import { archiveLoadHandler } from '../../src/serving/executors/tfjs/handlers.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { tempDir } from '../support/recommender.js';

const WIDTH = 29;

/**
 * A hand-made autoencoder whose errors can be worked out on paper. Standardisation: features
 * as they are, the amount as (amount − 100) / 10. Encoder: one ReLU unit that copies v1;
 * decoder: puts it back as v1 and reconstructs every other column as 0. So a transaction's
 * reconstruction error is (min(v1, 0)² + v2² + … + v28² + ((amount − 100) / 10)²) / 29.
 */
const tiny: Autoencoder = {
  mean: Float32Array.from({ length: WIDTH }, (_, j) => (j === 28 ? 100 : 0)),
  scale: Float32Array.from({ length: WIDTH }, (_, j) => (j === 28 ? 0.1 : 1)),
  layers: [
    { inputs: WIDTH, units: 1, activation: 'relu', kernel: Float32Array.from({ length: WIDTH }, (_, j) => (j === 0 ? 1 : 0)), bias: new Float32Array(1) },
    { inputs: 1, units: WIDTH, activation: 'linear', kernel: Float32Array.from({ length: WIDTH }, (_, j) => (j === 0 ? 1 : 0)), bias: new Float32Array(WIDTH) },
  ],
  threshold: 0.1,
};

function transaction(id: number, values: Partial<Record<(typeof transactionFeatures)[number], number | null>>, label = false): TransactionRecord {
  const record = { id, label } as TransactionRecord;
  for (const f of transactionFeatures) record[f] = f === 'amount' ? 100 : 0;
  return Object.assign(record, values);
}

// The cases and their errors, worked out by hand from the formula above.
const cases: [TransactionRecord, number][] = [
  [transaction(1, { v1: 2, v2: 3, amount: 110 }), (9 + 1) / 29], // v1 ≥ 0 is reconstructed; 3² + 1²
  [transaction(2, { v1: -1 }), 1 / 29], // the ReLU cannot give −1 back
  [transaction(3, {}), 0],
  [transaction(4, { v28: 0.5, amount: 80 }), (0.25 + 4) / 29],
];
const rows = (records: readonly TransactionRecord[]) => Float32Array.from(records.flatMap((r) => transactionFeatures.map((f) => r[f] as number)));
const descriptor = (modelName: string, bytes: Uint8Array, modelType: ModelDescriptor['modelType'] = 'ONNX'): ModelDescriptor => ({
  modelName,
  description: modelName,
  modelType,
  modelBytes: Buffer.from(bytes),
  modelSourceLocation: null,
});

describe('the hand-made autoencoder', () => {
  beforeAll(useWasmBackend);

  it('has the errors worked out by hand, in the plain-JS reference, in ONNX and in TF.js', async () => {
    const expected = cases.map(([, e]) => e);
    const input = rows(cases.map(([r]) => r));
    expect(reconstructionErrors(tiny, input).map((e) => Number(e.toFixed(6)))).toEqual(expected.map((e) => Number(e.toFixed(6))));

    const onnx = await onnxExecutor.load(descriptor('tiny', buildFraudOnnx(tiny)));
    try {
      const out = await onnx.infer({ features: { dtype: 'float32', shape: [cases.length, WIDTH], data: input } });
      expect(out.score?.shape).toEqual([cases.length, 1]);
      Array.from(out.score?.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
    } finally {
      await onnx.unload();
    }

    const model = await tf.loadLayersModel(archiveLoadHandler(await buildFraudTfjsArchive(tiny)));
    try {
      expect(model.inputs.map((t) => t.shape)).toEqual([[null, WIDTH]]);
      const scores = tf.tidy(() => (model.predict(tf.tensor2d(input, [cases.length, WIDTH])) as tf.Tensor).dataSync());
      Array.from(scores).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
    } finally {
      model.dispose();
    }
  });
});

describe('fraudAdapter', () => {
  const metadata = { errors: '', modelName: 'tiny', source: 'ONNX embedded', startTime: 1, duration: 0.1 };

  it('turns scores into verdicts against the threshold, and a missing field into an error result naming it', () => {
    const adapter = fraudAdapter(0.1);
    const incomplete = transaction(5, { v7: null, amount: null });
    const reason = adapter.reject?.(incomplete);
    expect(reason).toBe('cannot score the record: missing fields: v7, amount');
    const records = cases.map(([r]) => r);
    expect(records.every((r) => adapter.reject?.(r) === undefined)).toBe(true);
    const inputs = adapter.toInputs(records);
    expect(inputs.features?.shape).toEqual([cases.length, WIDTH]);
    const outputs = adapter.fromOutputs(records, { score: { dtype: 'float32', shape: [4, 1], data: Float32Array.from(cases.map(([, e]) => e)) } });
    const results = [
      ...records.map((r, i) => adapter.result(r, outputs[i], metadata)),
      adapter.result(incomplete, undefined, { ...metadata, errors: reason ?? '' }),
    ];
    expect(results.map((r) => [r.inputRecord.id, r.verdict, r.score === null ? null : Number(r.score.toFixed(4)), r.threshold])).toEqual([
      [1, 'fraud', 0.3448, 0.1],
      [2, 'normal', 0.0345, 0.1],
      [3, 'normal', 0, 0.1],
      [4, 'fraud', 0.1466, 0.1],
      [5, 'error', null, 0.1],
    ]);
    expect(results[4]?.modelResultMetadata.errors).toBe('cannot score the record: missing fields: v7, amount');
    expect(results.slice(0, 4).every((r) => r.modelResultMetadata.errors === '')).toBe(true);
  });

  it('gives an error result when scoring failed or the model returned NaN', () => {
    const adapter = fraudAdapter(0.1);
    const record = transaction(9, {});
    expect(adapter.result(record, undefined, { ...metadata, errors: 'No model server defined' })).toMatchObject({ verdict: 'error', score: null });
    const [nan] = adapter.fromOutputs([record], { score: { dtype: 'float32', shape: [1, 1], data: Float32Array.from([Number.NaN]) } });
    expect(adapter.result(record, nan, metadata)).toMatchObject({
      verdict: 'error',
      score: null,
      modelResultMetadata: { errors: 'the model returned a score of NaN' },
    });
  });

  it('rejects a model without the features input or the score output, naming them', () => {
    const spec = (name: string, shape: number[]) => ({ name, dtype: 'float32' as const, shape });
    expect(fraudAdapter(1).check({ inputs: [spec('features', [-1, 29])], outputs: [spec('score', [-1, 1])] })).toEqual([]);
    expect(fraudAdapter(1).check({ inputs: [spec('features', [-1, 30])], outputs: [spec('reconstruction', [-1, 29])] })).toEqual([
      "input 'features' takes 30 values per row, but the mapping fills 29 fields (v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19, v20, v21, v22, v23, v24, v25, v26, v27, v28, amount)",
      "the model has no output 'score' (its outputs: reconstruction)",
    ]);
  });
});

describe('the fraud model-serving streamlet', () => {
  let harness: StreamletHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });
  const install = async (h: StreamletHarness, d: ModelDescriptor) => {
    const before = h.committed('in-1');
    await h.send('in-1', [d]);
    await h.until(() => h.committed('in-1') > before);
  };

  it("declares threshold as config, defaulting to the trained one, besides model-serving's own parameters", () => {
    const serving = fraudModelServing();
    expect(serving.config.threshold?.default).toBe(DEFAULT_THRESHOLD);
    expect(Object.keys(serving.config)).toEqual(expect.arrayContaining(['batch-size', 'batch-wait', 'threshold']));
    expect(Object.keys(serving.inlets)).toEqual(['in-0', 'in-1']);
  });

  it('scores with the configured threshold, and keeps serving when an update does not fit', async () => {
    const h = (harness = await startStreamlet(fraudModelServing(), { name: 'model-serving', volumes: { models: tempDir() }, config: { threshold: 0.2 } }));
    await install(h, descriptor('tiny', buildFraudOnnx(tiny)));
    await install(h, descriptor('renamed', buildFraudOnnx(tiny, { inputName: 'x' })));
    await h.send('in-0', [...cases.map(([r]) => r), transaction(5, { v3: null })]);
    await h.until(() => h.outputs('out').length === 5);
    const out = h.outputs('out') as FraudResult[];
    expect(out.map((r) => r.verdict)).toEqual(['fraud', 'normal', 'normal', 'normal', 'error']);
    expect(out.every((r) => r.threshold === 0.2 && r.modelResultMetadata.modelName === 'tiny')).toBe(true);
    expect(out[4]?.modelResultMetadata.errors).toBe('cannot score the record: missing fields: v3');
    const state = (await (await fetch(`${h.url}/state`)).json()) as { name: string; updates: { rejected: number; lastRejected: { reason: string }[] } };
    expect(state.name).toBe('tiny');
    expect(state.updates.lastRejected[0]?.reason).toBe(
      "model renamed does not fit: the model has no input 'features' (its inputs: x); the model also takes input 'x', which no record field fills",
    );
  });
});
