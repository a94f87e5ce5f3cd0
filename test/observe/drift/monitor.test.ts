/**
 * The drift monitor over many windows, with seeded data: known shifts are detected within a
 * stated number of windows, and without a shift false alarms stay below the configured level.
 */
import { describe, expect, it } from 'vitest';
import { defineSchema } from '../../../src/core/schema.js';
import type { DriftEvent } from '../../../src/observe/drift/drift-event.js';
import { resolveFeatures } from '../../../src/observe/drift/features.js';
import { DriftMonitor } from '../../../src/observe/drift/monitor.js';
import { seededRandom } from '../../../src/util/random.js';
import { categorical, seededGaussian } from './support.js';

const Reading = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'test.drift',
  fields: [
    { name: 'x1', type: 'double' },
    { name: 'x2', type: 'double' },
    { name: 'x3', type: 'double' },
    { name: 'x4', type: 'double' },
    { name: 'x5', type: ['null', 'double'], default: null },
    { name: 'merchant', type: 'string' },
  ],
} as const);
type Reading = typeof Reading extends { encode(value: infer T): Buffer } ? T : never;

const features = resolveFeatures(Reading, { x1: 'numeric', x2: 'numeric', x3: 'numeric', x4: 'numeric', x5: 'numeric', merchant: 'categorical' }, 'test');
const usual = { a: 0.5, b: 0.3, c: 0.2 };

/** Records with five standard normal features and a merchant category; `shift` moves x3's mean (in sd). */
function readings(seed: number) {
  const gaussian = seededGaussian(seed);
  const random = seededRandom(seed + 1);
  const merchants = { usual: categorical(random, usual), changed: categorical(random, { a: 0.4, b: 0.3, c: 0.3 }) };
  return (count: number, options: { shift?: number; merchants?: keyof typeof merchants } = {}): Reading[] =>
    Array.from({ length: count }, () => ({
      x1: gaussian(),
      x2: gaussian(),
      x3: gaussian() + (options.shift ?? 0),
      x4: gaussian(),
      x5: gaussian(),
      merchant: merchants[options.merchants ?? 'usual'](),
    }));
}

const drifted = (events: readonly DriftEvent[]) => events.filter((e) => e.drifted).map((e) => `${e.feature}/${e.test}`);

describe('drift monitor', () => {
  it('detects a mean shift of 0.5 sd in one of five numeric features in the first window after it, and only that feature', () => {
    const draw = readings(7);
    const monitor = new DriftMonitor(features, { referenceSize: 1000, windowSize: 500 });
    expect(monitor.add(draw(1000))).toEqual([]);
    for (let w = 0; w < 4; w++) expect(drifted(monitor.add(draw(500)))).toEqual([]);
    for (let w = 4; w < 12; w++) {
      const events = monitor.add(draw(500, { shift: 0.5 }));
      // Kolmogorov–Smirnov finds it in every shifted window, the first included; no other feature is flagged.
      expect(drifted(events).filter((d) => !d.startsWith('x3/'))).toEqual([]);
      expect(drifted(events)).toContain('x3/KS');
      // PSI ≈ δ² = 0.25 for a normal mean shift, so near its 0.2 threshold: it reports the size, KS decides.
      expect(events.find((e) => e.feature === 'x3' && e.test === 'PSI')?.statistic).toBeGreaterThan(0.15);
    }
  });

  it('detects a change of a categorical distribution (a: 50→40 %, c: 20→30 %) in the first window after it', () => {
    const draw = readings(21);
    const monitor = new DriftMonitor(features, { referenceSize: 1000, windowSize: 500 });
    monitor.add(draw(1000));
    for (let w = 0; w < 4; w++) expect(drifted(monitor.add(draw(500)))).toEqual([]);
    for (let w = 0; w < 4; w++) {
      const events = monitor.add(draw(500, { merchants: 'changed' }));
      expect(drifted(events)).toEqual(['merchant/CHI2']);
      const chi = events.find((e) => e.test === 'CHI2');
      expect(chi).toMatchObject({ degreesOfFreedom: 2, referenceSize: 1000, windowSize: 500 });
    }
  });

  it('keeps false alarms below the configured significance over 1000 windows without a shift (fixed seed)', () => {
    // Each window is tested against its own freshly captured reference: windows that share one
    // reference share its luck, and the rate would measure that reference rather than the detector.
    const draw = readings(1);
    const significance = 0.01;
    const monitor = new DriftMonitor(features, { referenceSize: 1000, windowSize: 500, significance });
    let windows = 0;
    let alarms = 0;
    let psiAlarms = 0;
    for (let r = 0; r < 1000; r++) {
      monitor.restart(`reference-${r}`);
      monitor.add(draw(1000));
      const events = monitor.add(draw(500));
      expect(events).toHaveLength(5 * 2 + 1);
      windows++;
      if (events.some((e) => e.drifted && e.test !== 'PSI')) alarms++;
      psiAlarms += events.filter((e) => e.drifted && e.test === 'PSI').length;
    }
    expect(windows).toBe(1000);
    expect(alarms / windows).toBeLessThanOrEqual(significance);
    expect(psiAlarms).toBe(0);
  });

  it('holds each of the m tests of a window to significance / m (Bonferroni), without which false alarms multiply', () => {
    const draw = readings(3);
    const sizes = { referenceSize: 500, windowSize: 250 };
    const corrected = new DriftMonitor(features, { ...sizes, significance: 0.05 });
    const uncorrected = new DriftMonitor(features, { ...sizes, significance: 0.05, correction: 'none' });
    let correctedAlarms = 0;
    let uncorrectedAlarms = 0;
    for (let r = 0; r < 200; r++) {
      corrected.restart('');
      uncorrected.restart('');
      const reference = draw(500);
      const window = draw(250);
      corrected.add(reference);
      uncorrected.add(reference);
      const [a, b] = [corrected.add(window), uncorrected.add(window)];
      expect(a.filter((e) => e.test !== 'PSI').every((e) => e.threshold === 0.05 / 6)).toBe(true);
      expect(b.filter((e) => e.test !== 'PSI').every((e) => e.threshold === 0.05)).toBe(true);
      if (a.some((e) => e.drifted)) correctedAlarms++;
      if (b.some((e) => e.drifted)) uncorrectedAlarms++;
    }
    // Six tests at 5 % each alarm in about 1 − 0.95⁶ ≈ 26 % of the windows.
    expect(uncorrectedAlarms).toBeGreaterThan(3 * correctedAlarms);
    expect(uncorrectedAlarms / 200).toBeGreaterThan(0.15);
  });

  it('describes each test in its event: statistic, p-value (null for PSI), threshold, sizes, window and model', () => {
    const draw = readings(5);
    const monitor = new DriftMonitor(features, { referenceSize: 200, windowSize: 100, numericTests: 'both' });
    monitor.restart('fraud-v2');
    monitor.add(draw(200));
    const events = monitor.add(draw(100), 1_700_000_000_000);
    expect(events.map((e) => `${e.feature}/${e.test}`)).toEqual([
      'x1/KS',
      'x1/PSI',
      'x2/KS',
      'x2/PSI',
      'x3/KS',
      'x3/PSI',
      'x4/KS',
      'x4/PSI',
      'x5/KS',
      'x5/PSI',
      'merchant/CHI2',
    ]);
    for (const e of events) {
      expect(e).toMatchObject({ windowIndex: 0, referenceSize: 200, windowSize: 100, modelName: 'fraud-v2', detectedAt: 1_700_000_000_000 });
      expect(e.statistic).toBeGreaterThanOrEqual(0);
      if (e.test === 'PSI') expect(e).toMatchObject({ pValue: null, threshold: 0.2, degreesOfFreedom: null });
      else expect(e.pValue).toBeGreaterThan(0);
    }
    expect(monitor.add(draw(100))[0]?.windowIndex).toBe(1);
    expect(monitor.state()).toMatchObject({ modelName: 'fraud-v2', phase: 'monitoring', windowIndex: 2, windowRecords: 0 });
  });

  it('tests only what is configured: KS alone, PSI alone', () => {
    const draw = readings(9);
    const ks = new DriftMonitor(features, { referenceSize: 100, windowSize: 100, numericTests: 'ks' });
    const psi = new DriftMonitor(features, { referenceSize: 100, windowSize: 100, numericTests: 'psi' });
    const records = draw(200);
    expect(new Set(ks.add(records).map((e) => e.test))).toEqual(new Set(['KS', 'CHI2']));
    const psiEvents = psi.add(records);
    expect(new Set(psiEvents.map((e) => e.test))).toEqual(new Set(['PSI', 'CHI2']));
    // Only the chi-squared test has a p-value left: Bonferroni divides by 1.
    expect(psiEvents.find((e) => e.test === 'CHI2')?.threshold).toBe(0.01);
  });

  it('leaves a feature untested in a window where it has fewer than min-samples values', () => {
    const draw = readings(13);
    const monitor = new DriftMonitor(features, { referenceSize: 100, windowSize: 100, minSamples: 60 });
    monitor.add(draw(100));
    // Half of x5 missing in this window: 50 values, under 60.
    const window = draw(100).map((r, i) => (i % 2 === 0 ? { ...r, x5: null } : r));
    const events = monitor.add(window);
    expect(events.filter((e) => e.feature === 'x5')).toEqual([]);
    expect(events.filter((e) => e.feature === 'x1')).toHaveLength(2);
  });

  it('starts over on restart: a new reference, window numbers from 0, the new model name', () => {
    const draw = readings(17);
    // KS only: PSI has no p-value and its no-drift level grows as windows shrink (≈ (bins − 1)·(1/n + 1/m) = 0.27 here).
    const monitor = new DriftMonitor(features, { referenceSize: 100, windowSize: 50, numericTests: 'ks' });
    monitor.add(draw(300));
    expect(monitor.state()).toMatchObject({ phase: 'monitoring', windowIndex: 4 });
    monitor.restart('model-b');
    expect(monitor.state()).toMatchObject({ modelName: 'model-b', phase: 'reference', referenceRecords: 0, windowIndex: 0, latest: [] });
    // The shifted records become the new reference, so the same shift is no longer drift.
    expect(monitor.add(draw(100, { shift: 3 }))).toEqual([]);
    const events = monitor.add(draw(50, { shift: 3 }));
    expect(events[0]).toMatchObject({ windowIndex: 0, modelName: 'model-b' });
    expect(drifted(events)).toEqual([]);
  });

  it('rejects settings under which it could not work', () => {
    expect(() => new DriftMonitor(features, { windowSize: 0 })).toThrow('drift settings: windowSize must be a whole number ≥ 1, got 0');
    expect(() => new DriftMonitor(features, { referenceSize: 1.5 })).toThrow('drift settings: referenceSize must be a whole number ≥ 2, got 1.5');
    expect(() => new DriftMonitor(features, { significance: 0 })).toThrow('drift settings: significance must be within (0, 1), got 0');
    expect(() => new DriftMonitor(features, { psiThreshold: -1 })).toThrow('drift settings: psiThreshold must be ≥ 0, got -1');
  });
});
