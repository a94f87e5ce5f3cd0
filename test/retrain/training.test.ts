import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/serving/retrain/command-trainer.js';
import { denseClassifierTrainer } from '../../src/serving/retrain/dense-classifier.js';
import { FeedbackWindow, splitHoldout } from '../../src/serving/retrain/feedback-window.js';
import { fieldsAdapter } from '../../src/serving/fields-adapter.js';
import { auc } from '../../src/serving/validation/metrics.js';
import { seededRandom } from '../../src/util/random.js';
import { executors } from './support.js';

type Row = { a: number; b: number };

/** A linear world on badly scaled features: a in N(1000, 50²), b in N(−3, 0.01²); class 1 when (a−1000)/50 + (b+3)/0.01 > 0, 10% flipped. */
function rows(n: number, seed: number): { records: Row[]; labels: number[] } {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const records: Row[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const za = gaussian();
    const zb = gaussian();
    records.push({ a: 1000 + 50 * za, b: -3 + 0.01 * zb });
    const label = za + zb > 0 ? 1 : 0;
    labels.push(random() < 0.1 ? 1 - label : label);
  }
  return { records, labels };
}

const signal = new AbortController().signal;

describe('feedback window', () => {
  it('keeps the newest examples, oldest first, within its capacity', () => {
    const window = new FeedbackWindow<number>(3);
    for (let i = 1; i <= 5; i++) window.add({ record: i, label: i % 2 });
    expect(window.size).toBe(3);
    expect(window.snapshot().map((e) => e.record)).toEqual([3, 4, 5]);
    expect(window.clear()).toBe(3);
    expect(window.snapshot()).toEqual([]);
    window.add({ record: 6, label: 0 });
    expect(window.snapshot().map((e) => e.record)).toEqual([6]);
    expect(() => new FeedbackWindow(0)).toThrow('a feedback window holds at least 1 example, got 0');
  });

  it('holds out exactly ⌊n·share⌋ examples, evenly spread', () => {
    const examples = Array.from({ length: 20 }, (_, i) => ({ record: i, label: i % 2 }));
    expect(splitHoldout(examples, 0.2).holdout.records).toEqual([4, 9, 14, 19]);
    expect(splitHoldout(examples, 0.25).holdout.records).toEqual([3, 7, 11, 15, 19]);
    const third = splitHoldout(examples, 0.3);
    expect(third.holdout.records).toHaveLength(6);
    expect(third.training.records).toHaveLength(14);
    expect(third.training.labels).toEqual(third.training.records.map((r) => r % 2));
  });
});

describe('dense classifier trainer', () => {
  it('learns on badly scaled features and serves on the raw ones: the standardisation is inside the model', async () => {
    const trainer = denseClassifierTrainer<Row>({ features: ['a', 'b'], epochs: 30 });
    expect(trainer.name).toBe('TF.js dense 2→1');
    const trained = await trainer.train(rows(2000, 1), signal);
    expect(trained.modelType).toBe('TENSORFLOWJS');
    const model = await executors.load({
      modelName: 'm',
      description: '',
      modelType: 'TENSORFLOWJS',
      modelBytes: Buffer.from(trained.modelBytes),
      modelSourceLocation: null,
    });
    try {
      const adapter = fieldsAdapter<Row, number>({ inputs: { features: ['a', 'b'] }, outputs: [{ name: 'score', width: 1 }] }, () => 0);
      expect(adapter.check(model.metadata())).toEqual([]);
      const test = rows(2000, 2);
      const scores = adapter.fromOutputs(test.records, await model.infer(adapter.toInputs(test.records))).map((o) => o.score?.[0] ?? Number.NaN);
      // 10% of labels are flipped at random: the true boundary itself reaches an AUC of about 0.9.
      expect(auc(scores, test.labels)).toBeGreaterThan(0.85);
      expect(scores.every((s) => s > 0 && s < 1)).toBe(true);
    } finally {
      await model.unload();
    }
  });

  it('names what it cannot learn from', async () => {
    const trainer = denseClassifierTrainer<Row>({ features: ['a', 'b'] });
    const { records } = rows(10, 3);
    await expect(trainer.train({ records, labels: records.map(() => 2) }, signal)).rejects.toThrow(
      'training with TF.js dense 2→1 failed: label 1 is 2: a binary classifier needs labels 0 or 1',
    );
    await expect(trainer.train({ records, labels: records.map(() => 1) }, signal)).rejects.toThrow(
      'training with TF.js dense 2→1 failed: all 10 labels are 1: both classes are needed',
    );
    const broken = records.map((r, i) => (i === 4 ? { ...r, b: Number.NaN } : r));
    await expect(trainer.train({ records: broken, labels: records.map((_, i) => i % 2) }, signal)).rejects.toThrow(
      'training with TF.js dense 2→1 failed: record 5: field b is NaN, not a finite number',
    );
    const stopped = new AbortController();
    stopped.abort(new Error('application stopping'));
    await expect(trainer.train(rows(200, 4), stopped.signal)).rejects.toThrow('training with TF.js dense 2→1 failed: stopped: application stopping');
  });

  it('checks its options, naming every bad one', () => {
    expect(() => denseClassifierTrainer<Row>({ features: ['a', 'a'], hidden: [0], epochs: 1.5, learningRate: -1, inputName: 'x', outputName: 'x' })).toThrow(
      "dense classifier trainer: features names a twice; inputName and outputName are both 'x'; hidden[0] must be a positive integer, got 0; epochs must be a positive integer, got 1.5; learningRate must be a positive number, got -1",
    );
  });
});

describe('external command line', () => {
  it('splits on spaces, keeps double-quoted arguments whole, and needs both placeholders', () => {
    expect(parseCommandLine('"/opt/my tools/train" --in {feedback} --out={model} "a b"')).toEqual({
      program: '/opt/my tools/train',
      args: ['--in', '{feedback}', '--out={model}', 'a b'],
    });
    expect(() => parseCommandLine('   ')).toThrow('names no program');
    expect(() => parseCommandLine('train {feedback}')).toThrow('must pass {model} to the program (got: train {feedback})');
  });
});
