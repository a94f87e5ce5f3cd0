import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { Generator } from '../../examples/drift/generator.js';
import { svgPlot } from '../../examples/drift/plot.js';
import { QualityTracker } from '../../examples/drift/quality.js';
import type { DriftRecord, DriftResult, LabelledRecord } from '../../examples/drift/schemas.js';
import { formatReport, Timeline } from '../../examples/drift/timeline.js';
import { ShiftingWorld } from '../../examples/drift/world.js';
import type { RetrainDecision } from '../../src/serving/retrain/decision.js';
import { startStreamlet } from '../../src/testkit.js';
import { driftEvent } from './support.js';

describe('drift example: the world', () => {
  it('moves the means of x1 and x2 at the shift and leaves x3 and x4 alone', () => {
    const world = new ShiftingWorld({ seed: 1, rotationDegrees: 90, meanShift: 2 });
    const mean = (shifted: boolean, feature: 'x1' | 'x2' | 'x3' | 'x4') => {
      let sum = 0;
      for (let i = 0; i < 5000; i++) sum += world.draw(shifted).features[feature];
      return sum / 5000;
    };
    expect(mean(false, 'x1')).toBeCloseTo(0, 1);
    expect(mean(true, 'x1')).toBeCloseTo(Math.SQRT2, 1);
    expect(mean(true, 'x2')).toBeCloseTo(-Math.SQRT2, 1);
    expect(mean(true, 'x3')).toBeCloseTo(0, 1);
    expect(mean(true, 'x4')).toBeCloseTo(0, 1);
    expect(() => new ShiftingWorld({ seed: 1, rotationDegrees: Number.NaN, meanShift: 0 })).toThrow('rotationDegrees must be a finite number, got NaN');
  });
});

describe('drift example: the generator', () => {
  it('emits every record once and, later, its label; records after shift-after are drawn from the shifted world', async () => {
    const h = await startStreamlet(Generator, {
      name: 'generator',
      config: { 'records-per-second': 4000, 'max-records': 2000, duration: 0, 'shift-after': '200ms', 'label-delay': '100ms', seed: 3 },
    });
    try {
      expect((await h.app.finished).ok).toBe(true);
      const records = h.outputs('out') as readonly DriftRecord[];
      const labels = h.outputs('labels') as readonly LabelledRecord[];
      expect(records.map((r) => r.id)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
      expect(labels.map((l) => l.record)).toEqual(records);
      const firstShifted = labels.findIndex((l) => l.shifted);
      expect(firstShifted).toBeGreaterThan(0);
      expect(labels.slice(firstShifted).every((l) => l.shifted)).toBe(true);
      expect(new Set(labels.map((l) => l.label))).toEqual(new Set([0, 1]));
    } finally {
      await h.stop();
    }
  });
  it('stops generating after duration', async () => {
    const h = await startStreamlet(Generator, { name: 'generator', config: { 'records-per-second': 1000, duration: '300ms', 'label-delay': 0 } });
    try {
      expect((await h.app.finished).ok).toBe(true);
      const count = h.outputs('out').length;
      expect(count).toBeGreaterThan(0);
      // About 300 at 1000 records/s; a generator that never stopped would have made far more by now.
      expect(count).toBeLessThan(5000);
      expect(h.outputs('labels')).toHaveLength(count);
    } finally {
      await h.stop();
    }
  });
});

function result(id: number, model: string, since: number, score: number | null, generatedAt = id * 10): DriftResult {
  const inputRecord = { id, x1: 0, x2: 0, x3: 0, x4: 0, generatedAt };
  return {
    inputRecord,
    score,
    modelResultMetadata: { errors: score === null ? 'No model server defined' : '', modelName: model, source: '', startTime: since, duration: 0.1 },
  };
}

function label(id: number, value: number, shifted: boolean, generatedAt = id * 10): LabelledRecord {
  return { record: { id, x1: 0, x2: 0, x3: 0, x4: 0, generatedAt }, label: value, shifted };
}

describe('drift example: quality from results and delayed labels', () => {
  it('joins results and labels in either order and counts lost, repeated and unscored records', () => {
    const q = new QualityTracker({ window: 4, sampleEvery: 2, maxPending: 100, decisionThreshold: 0.5 });
    q.addResult(result(1, '', 0, null));
    q.addLabel(label(2, 1, false));
    q.addResult(result(2, 'a', 5, 0.9));
    q.addResult(result(3, 'a', 5, 0.2));
    q.addResult(result(3, 'a', 5, 0.2));
    q.addResult(result(5, 'a', 5, 0.8));
    q.addLabel(label(1, 0, false));
    q.addLabel(label(3, 0, false));
    q.addLabel(label(5, 0, false));
    expect(q.ids()).toEqual({ results: 5, distinct: 4, duplicates: 1, missing: 1 });
    expect(q.unscored).toBe(1);
    expect(q.labelled).toBe(4);
    expect(q.phases().beforeShift).toEqual({ records: 3, accuracy: 2 / 3, auc: 1 });
    expect(q.points.map((p) => p.accuracy)).toEqual([1]);
  });

  it('splits quality at the shift: before it, after it with models installed before, and with models installed after', () => {
    const q = new QualityTracker({ window: 100, sampleEvery: 10, maxPending: 100, decisionThreshold: 0.5 });
    // Records 1–20 before the shift (at t=210), scored right by model a; 21–40 after it, wrong by a; 41–60 right by b, installed at t=300.
    for (let id = 1; id <= 60; id++) {
      const truth = id % 2;
      const shifted = id > 20;
      const model = id <= 40 ? 'a' : 'b';
      const right = id <= 20 || id > 40;
      q.addResult(result(id, model, model === 'a' ? 5 : 300, right ? 0.2 + 0.6 * truth : 0.8 - 0.6 * truth));
      q.addLabel(label(id, truth, shifted));
    }
    expect(q.shiftAt).toBe(210);
    expect([...q.models()]).toEqual([
      ['a', 5],
      ['b', 300],
    ]);
    expect(q.phases()).toEqual({
      beforeShift: { records: 20, accuracy: 1, auc: 1 },
      oldModel: { records: 20, accuracy: 0, auc: 0 },
      newModel: { records: 20, accuracy: 1, auc: 1 },
    });
  });

  it('drops the oldest of too many results waiting for their labels, and counts them', () => {
    const q = new QualityTracker({ window: 10, sampleEvery: 5, maxPending: 3, decisionThreshold: 0.5 });
    for (let id = 1; id <= 5; id++) q.addResult(result(id, 'a', 0, 0.9));
    expect(q.unmatched).toBe(2);
    q.addLabel(label(1, 1, false));
    expect(q.phases().beforeShift.records).toBe(0);
  });
});

describe('drift example: the closing report', () => {
  const decision = (at: number, outcome: RetrainDecision['outcome'], fields: Partial<RetrainDecision> = {}): RetrainDecision => ({
    at,
    outcome,
    trigger: 'DRIFT',
    reason: 'drift of x1',
    modelName: null,
    currentModel: null,
    metric: 'auc',
    candidateScore: null,
    currentScore: null,
    trainingRecords: 800,
    holdoutRecords: 200,
    durationMs: null,
    ...fields,
  });

  it('tells the events in time order, the quality per phase and the record counts', () => {
    const q = new QualityTracker({ window: 10, sampleEvery: 5, maxPending: 100, decisionThreshold: 0.5 });
    q.addResult(result(1, 'm1', 1_000, 0.9, 1_000));
    q.addLabel(label(1, 1, false, 1_000));
    q.addResult(result(2, 'm1', 1_000, 0.9, 5_000));
    q.addLabel(label(2, 0, true, 5_000));
    q.addResult(result(3, 'm2', 7_500, 0.1, 9_000));
    q.addLabel(label(3, 0, true, 9_000));
    const timeline = new Timeline();
    // A false alarm, in an earlier window: its own episode.
    timeline.addDrift(driftEvent({ modelName: 'm1', windowIndex: 0, detectedAt: 2_000, feature: 'score' }));
    timeline.addDrift(driftEvent({ modelName: 'm1', windowIndex: 3, detectedAt: 5_500 }));
    timeline.addDrift(driftEvent({ modelName: 'm1', windowIndex: 4, detectedAt: 6_000, feature: 'x2' }));
    timeline.addDrift(driftEvent({ modelName: 'm1', windowIndex: 4, detectedAt: 6_000 }));
    timeline.addDecision(decision(5_600, 'STARTED'));
    timeline.addDecision(decision(6_100, 'SKIPPED'));
    timeline.addDecision(decision(7_000, 'TRAINED', { modelName: 'm2' }));
    timeline.addDecision(decision(7_400, 'PUBLISHED', { modelName: 'm2', reason: 'auc 0.93 against 0.57 of m1 (margin 0)' }));
    expect(formatReport(timeline, q, '/tmp/q.svg').split('\n')).toEqual([
      'drift run timeline (seconds from the first record):',
      '    0.00  stream starts',
      '    0.00  model serving       m1',
      '    1.00  drift detected      score KS 0.310 p=1.0e-20 in window 0 since m1 was installed',
      '    4.00  distribution shifts records from here on are drawn from the shifted world',
      '    4.50  drift detected      x1 KS 0.310 p=1.0e-20 in window 3 since m1 was installed (and 1 more window)',
      '    4.60  retrain started     DRIFT (drift of x1); 800 records to train on, 200 held out',
      '    6.40  model published     m2: auc 0.93 against 0.57 of m1 (margin 0)',
      '    6.50  model serving       m2',
      '    8.00  stream ends',
      'retrain triggers skipped: 1 (see the retrain log for why)',
      'quality phase=before-shift records=1 accuracy=1.000 auc=n/a',
      'quality phase=after-shift-old-model records=1 accuracy=0.000 auc=n/a',
      'quality phase=after-shift-new-model records=1 accuracy=1.000 auc=n/a',
      'records labels=3 results=3 distinct=3 duplicates=0 missing=0 unscored=0 unmatched=0',
      'plot /tmp/q.svg',
      '',
    ]);
  });

  it('plots series as polylines and events as dashed lines, in well-formed SVG', () => {
    const svg = svgPlot({
      title: 'quality <&>',
      xLabel: 'seconds',
      yMin: 0.3,
      series: [
        {
          name: 'accuracy',
          color: 'blue',
          points: [
            { x: 0, y: 0.9 },
            { x: 10, y: 0.5 },
            { x: 20, y: 0.9 },
          ],
        },
        { name: 'AUC', color: 'orange', points: [{ x: 0, y: 0.95 }] },
      ],
      markers: [
        { x: 10, label: 'shift', color: 'red' },
        { x: 10.01, label: 'drift', color: 'orange' },
      ],
    });
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(svg) as {
      svg: { polyline: unknown[]; line: { '@_stroke-dasharray'?: string }[]; text: unknown[] };
    };
    expect(parsed.svg.polyline).toHaveLength(2);
    expect(parsed.svg.line.filter((l) => l['@_stroke-dasharray'] === '4 3')).toHaveLength(2);
    expect(svg).toContain('quality &lt;&amp;&gt;');
    expect(svg).toContain('points="50.0,96.4 495.0,282.1 940.0,96.4"');
  });
});
