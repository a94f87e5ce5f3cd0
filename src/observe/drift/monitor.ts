/**
 * The drift detector's logic, without a stream: a reference window of records, then tumbling
 * live windows, each compared feature by feature with the reference — Kolmogorov–Smirnov and/or
 * PSI for numeric features, chi-squared for categorical ones. The streamlet feeds it; tests
 * drive it directly over thousands of windows.
 */
import { chiSquaredTwoSample } from './chi-squared.js';
import type { DriftEvent, DriftTest } from './drift-event.js';
import { categoryOf, numericValue, type Feature } from './features.js';
import { kolmogorovSmirnov } from './kolmogorov-smirnov.js';
import { PsiReference } from './psi.js';
import { sortedCopy } from './quantile.js';

export interface DriftSettings {
  /** Records in the reference window. */
  readonly referenceSize: number;
  /** Records in each live (tumbling) window. */
  readonly windowSize: number;
  /** PSI above this is drift. */
  readonly psiThreshold: number;
  readonly psiBins: number;
  /** Per-window false-alarm rate the p-value tests are held to (across all features when corrected). */
  readonly significance: number;
  /** `bonferroni`: each of the m p-value tests of a window is held to significance / m. */
  readonly correction: 'bonferroni' | 'none';
  /** A feature with fewer values than this in the reference or a window is not tested in that window. */
  readonly minSamples: number;
  readonly numericTests: 'ks' | 'psi' | 'both';
}

export const defaultDriftSettings: DriftSettings = Object.freeze({
  referenceSize: 1000,
  windowSize: 500,
  psiThreshold: 0.2,
  psiBins: 10,
  significance: 0.01,
  correction: 'bonferroni',
  minSamples: 30,
  numericTests: 'both',
});

/** The latest result of one test of one feature, for `GET /drift`. */
export interface LatestTest {
  readonly feature: string;
  readonly test: DriftTest;
  readonly statistic: number;
  readonly pValue: number | null;
  readonly drifted: boolean;
  readonly windowIndex: number;
}

export interface DriftState {
  readonly modelName: string;
  readonly phase: 'reference' | 'monitoring';
  readonly referenceRecords: number;
  readonly referenceSize: number;
  readonly windowIndex: number;
  readonly windowRecords: number;
  readonly windowSize: number;
  /** Live windows closed since the reference was captured that found drift (`windowIndex` counts them all). */
  readonly driftedWindows: number;
  readonly latest: readonly LatestTest[];
}

interface NumericTrack {
  readonly kind: 'numeric';
  reference: number[];
  sortedReference?: Float64Array;
  psi?: PsiReference;
  live: number[];
}

interface CategoricalTrack {
  readonly kind: 'categorical';
  reference: Map<string, number>;
  referenceCount: number;
  live: Map<string, number>;
  liveCount: number;
}

type Track = NumericTrack | CategoricalTrack;

export class DriftMonitor<R> {
  private readonly features: readonly Feature<R>[];
  private readonly settings: DriftSettings;
  /** The corrected level each p-value is compared with. */
  private readonly alpha: number;
  private tracks: Track[] = [];
  private modelName = '';
  private referenceRecords = 0;
  private windowRecords = 0;
  private windowIndex = 0;
  private driftedWindows = 0;
  private latest = new Map<string, LatestTest>();

  constructor(features: readonly Feature<R>[], settings: Partial<DriftSettings> = {}) {
    this.features = features;
    this.settings = { ...defaultDriftSettings, ...settings };
    checkSettings(this.settings);
    const tested = features.filter((f) => f.kind === 'categorical' || this.settings.numericTests !== 'psi').length;
    this.alpha = this.settings.correction === 'bonferroni' && tested > 0 ? this.settings.significance / tested : this.settings.significance;
    this.restart('');
  }

  /** Drops the reference and the live window: the next records form a new reference (a new model was installed). */
  restart(modelName: string): void {
    this.modelName = modelName;
    this.referenceRecords = 0;
    this.windowRecords = 0;
    this.windowIndex = 0;
    this.driftedWindows = 0;
    this.latest = new Map();
    this.tracks = this.features.map((f) =>
      f.kind === 'numeric'
        ? { kind: 'numeric', reference: [], live: [] }
        : { kind: 'categorical', reference: new Map(), referenceCount: 0, live: new Map(), liveCount: 0 },
    );
  }

  /** Live windows closed since the reference was captured. */
  get windows(): number {
    return this.windowIndex;
  }

  /** Takes records in order; returns the results of every test of every window they closed, drifted or not. */
  add(records: readonly R[], now = Date.now()): DriftEvent[] {
    const events: DriftEvent[] = [];
    for (const record of records) {
      if (this.referenceRecords < this.settings.referenceSize) {
        this.collect(record, 'reference');
        if (++this.referenceRecords === this.settings.referenceSize) this.freezeReference();
        continue;
      }
      this.collect(record, 'live');
      if (++this.windowRecords === this.settings.windowSize) events.push(...this.closeWindow(now));
    }
    return events;
  }

  state(): DriftState {
    const monitoring = this.referenceRecords >= this.settings.referenceSize;
    return {
      modelName: this.modelName,
      phase: monitoring ? 'monitoring' : 'reference',
      referenceRecords: this.referenceRecords,
      referenceSize: this.settings.referenceSize,
      windowIndex: this.windowIndex,
      windowRecords: this.windowRecords,
      windowSize: this.settings.windowSize,
      driftedWindows: this.driftedWindows,
      latest: [...this.latest.values()],
    };
  }

  private collect(record: R, into: 'reference' | 'live'): void {
    this.features.forEach((feature, i) => {
      const track = this.tracks[i] as Track;
      const value = feature.read(record);
      if (track.kind === 'numeric') {
        const number = numericValue(value);
        if (number !== undefined) track[into].push(number);
        return;
      }
      const category = categoryOf(value);
      if (category === undefined) return;
      const counts = track[into];
      counts.set(category, (counts.get(category) ?? 0) + 1);
      if (into === 'reference') track.referenceCount++;
      else track.liveCount++;
    });
  }

  private freezeReference(): void {
    for (const track of this.tracks) {
      if (track.kind !== 'numeric' || track.reference.length === 0) continue;
      track.sortedReference = sortedCopy(track.reference);
      track.psi = new PsiReference(track.sortedReference, { bins: this.settings.psiBins });
      track.reference = [];
    }
  }

  private closeWindow(now: number): DriftEvent[] {
    const results: DriftEvent[] = [];
    this.features.forEach((feature, i) => {
      const track = this.tracks[i] as Track;
      results.push(...(track.kind === 'numeric' ? this.testNumeric(feature.name, track, now) : this.testCategorical(feature.name, track, now)));
    });
    for (const r of results) {
      this.latest.set(`${r.feature}/${r.test}`, {
        feature: r.feature,
        test: r.test,
        statistic: r.statistic,
        pValue: r.pValue,
        drifted: r.drifted,
        windowIndex: r.windowIndex,
      });
    }
    if (results.some((r) => r.drifted)) this.driftedWindows++;
    this.windowIndex++;
    this.windowRecords = 0;
    return results;
  }

  private testNumeric(feature: string, track: NumericTrack, now: number): DriftEvent[] {
    const live = track.live;
    track.live = [];
    const reference = track.sortedReference;
    if (!reference || !track.psi || reference.length < this.settings.minSamples || live.length < this.settings.minSamples) return [];
    const events: DriftEvent[] = [];
    const common = { feature, degreesOfFreedom: null, referenceSize: reference.length, windowSize: live.length };
    if (this.settings.numericTests !== 'psi') {
      const ks = kolmogorovSmirnov(reference, sortedCopy(live), { sorted: true });
      events.push(
        this.event({ ...common, test: 'KS', statistic: ks.statistic, pValue: ks.pValue, threshold: this.alpha, drifted: ks.pValue < this.alpha }, now),
      );
    }
    if (this.settings.numericTests !== 'ks') {
      const psi = track.psi.index(live);
      const threshold = this.settings.psiThreshold;
      events.push(this.event({ ...common, test: 'PSI', statistic: psi, pValue: null, threshold, drifted: psi > threshold }, now));
    }
    return events;
  }

  private testCategorical(feature: string, track: CategoricalTrack, now: number): DriftEvent[] {
    const { live, liveCount } = track;
    track.live = new Map();
    track.liveCount = 0;
    if (track.referenceCount < this.settings.minSamples || liveCount < this.settings.minSamples) return [];
    const chi = chiSquaredTwoSample(track.reference, live);
    return [
      this.event(
        {
          feature,
          test: 'CHI2',
          statistic: chi.statistic,
          pValue: chi.pValue,
          threshold: this.alpha,
          drifted: chi.pValue < this.alpha,
          degreesOfFreedom: chi.degreesOfFreedom,
          referenceSize: track.referenceCount,
          windowSize: liveCount,
        },
        now,
      ),
    ];
  }

  private event(result: Omit<DriftEvent, 'windowIndex' | 'modelName' | 'detectedAt'>, now: number): DriftEvent {
    return { ...result, windowIndex: this.windowIndex, modelName: this.modelName, detectedAt: now };
  }
}

function checkSettings(settings: DriftSettings): void {
  const wholeAtLeast = (name: keyof DriftSettings, min: number) => {
    const value = settings[name] as number;
    if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`drift settings: ${name} must be a whole number ≥ ${min}, got ${value}`);
  };
  wholeAtLeast('referenceSize', 2);
  wholeAtLeast('windowSize', 1);
  wholeAtLeast('psiBins', 2);
  wholeAtLeast('minSamples', 1);
  if (!(settings.significance > 0 && settings.significance < 1))
    throw new RangeError(`drift settings: significance must be within (0, 1), got ${settings.significance}`);
  if (!(settings.psiThreshold >= 0)) throw new RangeError(`drift settings: psiThreshold must be ≥ 0, got ${settings.psiThreshold}`);
}
