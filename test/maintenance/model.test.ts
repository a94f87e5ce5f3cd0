/**
 * The anomaly model as the build makes it: fit here by the project's own code, exported to ONNX,
 * and judged on fresh fleets of other seeds through the example's model-serving streamlet.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLD, MAINTENANCE_INPUT, maintenanceAdapter } from '../../examples/maintenance/adapter.js';
import { MachineFleet } from '../../examples/maintenance/fleet.js';
import { maintenanceModelServing } from '../../examples/maintenance/model-serving.js';
import {
  anomalyModelOnnx,
  fitAnomalyModel,
  MAINTENANCE_MODEL_NAME,
  mahalanobisSquared,
  type AnomalyModel,
} from '../../examples/maintenance/models/build-model.js';
import { sensorFeatures, type MachineScore, type SensorReading } from '../../examples/maintenance/schemas.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { onnxExecutor } from '../../src/serving/executors/onnx.js';
import { encodeModel, valueInfo, node } from '../../src/serving/onnx-builder.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { root } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';

let model: AnomalyModel;
beforeAll(() => {
  model = fitAnomalyModel();
});

const descriptor = (bytes: Uint8Array, modelName = MAINTENANCE_MODEL_NAME): ModelDescriptor => ({
  modelName,
  description: 'built in the test',
  modelType: 'ONNX',
  modelBytes: Buffer.from(bytes),
  modelSourceLocation: null,
});

const row = (r: SensorReading) => sensorFeatures.map((f) => r[f]);

describe('the anomaly model', () => {
  it('is fit on healthy readings and picks the threshold model-serving defaults to, above the held-out healthy scores', () => {
    // Squared Mahalanobis distances of 4 roughly Gaussian features: a chi-squared(4) shape.
    expect(model.validationScores.p50).toBeGreaterThan(3);
    expect(model.validationScores.p50).toBeLessThan(4);
    expect(model.threshold).toBeGreaterThan(model.validationScores.p999);
    expect(model.threshold).toBe(DEFAULT_THRESHOLD);
  });

  it('is what the example ships, and its ONNX export computes the reference scores', async () => {
    const shipped = join(root, 'examples', 'maintenance', 'models');
    const sidecar = JSON.parse(readFileSync(join(shipped, `${MAINTENANCE_MODEL_NAME}.json`), 'utf8')) as { threshold: number };
    expect(sidecar.threshold).toBe(DEFAULT_THRESHOLD);
    expect(Buffer.from(readFileSync(join(shipped, `${MAINTENANCE_MODEL_NAME}.onnx`))).equals(Buffer.from(anomalyModelOnnx(model)))).toBe(true);

    const fleet = new MachineFleet({ seed: 99, machines: 10, degrading: 5, onset: 50, ramp: 100 });
    const readings = Array.from({ length: 2_000 }, () => fleet.reading());
    const loaded = await onnxExecutor.load(descriptor(anomalyModelOnnx(model)));
    try {
      const data = Float32Array.from(readings.flatMap(row));
      const out = await loaded.infer({ [MAINTENANCE_INPUT]: { dtype: 'float32', shape: [readings.length, 4], data } });
      expect(out.score?.shape).toEqual([readings.length, 1]);
      const scores = out.score?.data as Float32Array;
      readings.forEach((r, i) => {
        const reference = mahalanobisSquared(model, row(r));
        expect(Math.abs((scores[i] as number) - reference)).toBeLessThanOrEqual(1e-3 + 1e-3 * reference);
      });
    } finally {
      await loaded.unload();
    }
  });

  it('raises almost no alert on a healthy fleet of another seed, and one on nearly every reading of a machine a third of the way to failure', () => {
    const healthy = new MachineFleet({ seed: 2024, machines: 40, degrading: 0 });
    let falseAlarms = 0;
    const total = 40_000;
    for (let i = 0; i < total; i++) if (mahalanobisSquared(model, row(healthy.reading())) > model.threshold) falseAlarms++;
    // Measured: 3 in 40,000 (0.0075 %).
    expect(falseAlarms / total).toBeLessThan(0.0005);

    const failing = new MachineFleet({ seed: 5, machines: 10, degrading: 10, onset: 1, ramp: 300 });
    let late = 0;
    let lateAlerts = 0;
    for (let i = 0; i < 3_000; i++) {
      const r = failing.reading();
      if (failing.severityOf(r.machine, r.sequence) < 1 / 3) continue;
      late++;
      if (mahalanobisSquared(model, row(r)) > model.threshold) lateAlerts++;
    }
    expect(late).toBeGreaterThan(1_000);
    expect(lateAlerts / late).toBeGreaterThan(0.99);
  });
});

describe('the maintenance adapter', () => {
  const metadata = { errors: '', modelName: 'm', source: 'ONNX embedded', startTime: 1, duration: 0.1 };
  const reading: SensorReading = { machine: 'm01', line: 'line-1', sequence: 3, timestamp: 1_000, temperature: 62, vibration: 2.2, pressure: 6, rpm: 1500 };

  it('turns a score into an alert above the threshold, at or below it into none', () => {
    const adapter = maintenanceAdapter(10);
    expect(adapter.result(reading, { score: [10.5] }, metadata)).toEqual({ reading, score: 10.5, threshold: 10, alert: true, modelResultMetadata: metadata });
    expect(adapter.result(reading, { score: [10] }, metadata)).toMatchObject({ score: 10, alert: false });
  });

  it('answers a failed or missing score with an error result, never an alert', () => {
    const adapter = maintenanceAdapter(10);
    expect(adapter.result(reading, undefined, { ...metadata, errors: 'No model server defined' })).toEqual({
      reading,
      score: null,
      threshold: 10,
      alert: false,
      modelResultMetadata: { ...metadata, errors: 'No model server defined' },
    });
    expect(adapter.result(reading, { score: [Number.NaN] }, metadata).modelResultMetadata.errors).toBe('the model returned a score of NaN');
    expect(adapter.result(reading, {}, metadata).modelResultMetadata.errors).toBe('the model returned no score');
  });

  it('rejects a reading with a value no float32 holds, naming the field', () => {
    const adapter = maintenanceAdapter(10);
    expect(adapter.reject?.({ ...reading, vibration: Number.NaN })).toBe('cannot score the record: missing fields: vibration');
    expect(adapter.reject?.({ ...reading, rpm: 1e300 })).toBe('cannot score the record: fields that are not float32 numbers: rpm=1e+300');
    expect(adapter.reject?.(reading)).toBeUndefined();
  });

  it('refuses a model whose input or output does not fit, naming what differs', async () => {
    const wrong = encodeModel({
      name: 'wrong',
      inputs: [valueInfo('features', 'float32', ['batch', 3])],
      outputs: [valueInfo('out', 'float32', ['batch', 3])],
      initializers: [],
      nodes: [node('Identity', ['features'], ['out'])],
    });
    const loaded = await onnxExecutor.load(descriptor(wrong, 'wrong'));
    try {
      expect(maintenanceAdapter(10).check?.(loaded.metadata())).toEqual([
        "the model has no input 'readings' (its inputs: features)",
        "the model also takes input 'features', which no record field fills",
        "the model has no output 'score' (its outputs: out)",
      ]);
    } finally {
      await loaded.unload();
    }
  });
});

describe('the anomaly model in the maintenance model-serving streamlet', () => {
  let harness: StreamletHarness;
  afterAll(() => harness?.stop());

  it('scores every reading in order, with the default threshold, and keeps serving after a model that does not fit', async () => {
    harness = await startStreamlet(maintenanceModelServing(), { name: 'model-serving', volumes: { models: tempDir() } });
    const fleet = new MachineFleet({ seed: 11, machines: 5, degrading: 1, onset: 10, ramp: 50 });
    const readings = Array.from({ length: 500 }, () => fleet.reading());
    await harness.send('in-1', [descriptor(anomalyModelOnnx(model))]);
    await harness.send('in-1', [{ ...descriptor(new Uint8Array([1, 2, 3]), 'corrupt') }]);
    await harness.until(() => harness.committed('in-1') === 2);
    await harness.send('in-0', readings);
    await harness.until(() => harness.outputs('out').length === readings.length);
    const results = harness.outputs('out') as MachineScore[];
    expect(results.map((r) => r.reading)).toEqual(readings);
    expect(results.every((r) => r.threshold === DEFAULT_THRESHOLD && r.modelResultMetadata.modelName === MAINTENANCE_MODEL_NAME)).toBe(true);
    const faulty = fleet.plans.find((p) => p.faultOnset !== undefined)?.machine;
    const alerting = new Set(results.filter((r) => r.alert).map((r) => r.reading.machine));
    expect([...alerting]).toEqual([faulty]);
    const state = (await (await fetch(`${harness.url}/state`)).json()) as { name: string; updates: { rejected: number } };
    expect(state).toMatchObject({ name: MAINTENANCE_MODEL_NAME, updates: { rejected: 1 } });
  });
});
