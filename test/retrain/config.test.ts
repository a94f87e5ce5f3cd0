import { describe, expect, it } from 'vitest';
import { DriftRecordSchema, LabelledRecordSchema, type DriftRecord } from '../../examples/drift/schemas.js';
import { driftAdapter } from '../../examples/drift/adapter.js';
import { DRIFT_FEATURES } from '../../examples/drift/world.js';
import { denseClassifierTrainer } from '../../src/serving/retrain/dense-classifier.js';
import { retrainer } from '../../src/serving/retrain/retrainer.js';
import type { AnyStreamlet } from '../../src/core/streamlet.js';
import { executors, retrainOnDriftRecords, startRetrain } from './support.js';

const trainer = denseClassifierTrainer<DriftRecord>({ features: DRIFT_FEATURES });

/** The message the streamlet stops with under `config`. */
async function failure(config: Readonly<Record<string, unknown>>, definition: AnyStreamlet = retrainOnDriftRecords({ trainer })): Promise<string> {
  const h = await startRetrain(definition, config);
  try {
    const outcome = await h.app.finished;
    if (outcome.ok) throw new Error('the streamlet started');
    return outcome.error.message;
  } finally {
    await h.stop();
  }
}

describe('retrain streamlet configuration', () => {
  it('stops the start naming every key that cannot work together', async () => {
    const message = await failure({ 'window-size': 100, 'min-samples': 150, 'holdout-share': 0.05, command: 'python train.py {feedback}' });
    expect(message).toBe(
      'streamlet retrain failed: streamlet retrain config: command must pass {model} to the program (got: python train.py {feedback}); ' +
        'min-samples (150) is more than window-size (100): no retrain could ever start; ' +
        'min-samples × holdout-share holds out 7 record(s), fewer than the 10 models are compared on: raise min-samples or holdout-share',
    );
  });

  it('needs a trainer: one in code or a command', async () => {
    expect(await failure({}, retrainOnDriftRecords())).toBe(
      'streamlet retrain failed: streamlet retrain config: command is empty and the streamlet was given no trainer in code: set command to an external trainer',
    );
  });

  it('needs something that triggers a retrain', async () => {
    const noDrift = retrainer({
      feedback: LabelledRecordSchema,
      data: DriftRecordSchema,
      example: (l) => ({ record: l.record, label: l.label }),
      adapter: driftAdapter,
      executors,
      trainer,
    });
    expect(Object.keys(noDrift.inlets)).toEqual(['feedback']);
    expect(await failure({}, noDrift)).toMatch(
      /interval is 0 and the streamlet has no drift inlet: nothing would ever trigger a retrain \(set interval, or build it with drift: true\)$/,
    );
  });

  it('checks a command line: placeholders, quotes, a program', async () => {
    expect(await failure({ command: 'train.sh {model}' })).toMatch(/: command must pass \{feedback\} to the program \(got: train\.sh \{model\}\)$/);
    expect(await failure({ command: '"train.sh {feedback} {model}' })).toMatch(/: command has an unmatched double quote: "train\.sh \{feedback\} \{model\}$/);
  });

  it('rejects values outside their bounds, naming the key', async () => {
    await expect(startRetrain(retrainOnDriftRecords({ trainer }), { 'holdout-share': 0.9 })).rejects.toThrow(
      'config of retrain: holdout-share must be at most 0.5, got 0.9',
    );
    await expect(startRetrain(retrainOnDriftRecords({ trainer }), { metric: 'f1' })).rejects.toThrow(
      'config of retrain: metric expected one of auc, accuracy, mae, mse, got "f1"',
    );
    await expect(startRetrain(retrainOnDriftRecords({ trainer }), { 'command-model-type': 'SELDON' })).rejects.toThrow(
      'config of retrain: command-model-type expected one of ONNX, TENSORFLOWJS, PMML, got "SELDON"',
    );
    await expect(startRetrain(retrainOnDriftRecords({ trainer }), { 'model-name': 'a b' })).rejects.toThrow(
      /config of retrain: model-name "a b" does not match/,
    );
    await expect(startRetrain(retrainOnDriftRecords({ trainer }), { cooldown: 'soon' })).rejects.toThrow(
      'config of retrain: cooldown expected a duration such as 500ms or 10s, got "soon"',
    );
  });

  it('declares its inlets by the options: feedback always, drift and models when asked', () => {
    expect(Object.keys(retrainOnDriftRecords({ trainer }).inlets)).toEqual(['feedback', 'drift', 'models']);
    expect(Object.keys(retrainOnDriftRecords({ trainer }).outlets)).toEqual(['out', 'decisions']);
  });
});
