/**
 * How well the serving model does, from its results joined with the labels that arrive later:
 * accuracy and AUC over a rolling window of the newest labelled results (a point every
 * `sampleEvery` of them), and in total per model and side of the shift. It also keeps the ledger
 * of result ids that shows whether a record was lost or scored twice. Memory is bounded except
 * for that ledger, which takes one bit per id.
 */
import { accuracy, auc } from '../../src/serving/validation/metrics.js';
import { seededRandom } from '../../src/util/random.js';
import type { DriftResult, LabelledRecord } from './schemas.js';

export interface QualityOptions {
  /** Labelled results in the rolling window. */
  readonly window: number;
  /** A point every this many labelled results. */
  readonly sampleEvery: number;
  /** Most results waiting for their label (and labels for their result); beyond it the oldest are dropped and counted. */
  readonly maxPending: number;
  /** A score at or above it predicts class 1. */
  readonly decisionThreshold: number;
}

/** Quality over the rolling window that ended with the record generated at `at`. */
export interface QualityPoint {
  readonly at: number;
  readonly accuracy: number;
  /** Undefined when the window holds one class only. */
  readonly auc: number | undefined;
}

export interface Quality {
  readonly records: number;
  readonly accuracy: number | undefined;
  readonly auc: number | undefined;
}

interface Scored {
  readonly score: number | null;
  readonly modelName: string;
}

/** Most (score, label) pairs kept per model and side of the shift to compute its AUC: a uniform sample beyond that. */
const AUC_SAMPLE = 20_000;
/** Most points kept: beyond it every other one goes and points come half as often. */
const MAX_POINTS = 2_000;

export class QualityTracker {
  private readonly results = new Map<number, Scored>();
  private readonly labels = new Map<number, LabelledRecord>();
  private readonly recent: { score: number; label: number }[] = [];
  private readonly groups = new Map<string, Group>();
  private readonly ledger = new IdLedger();
  private readonly installed = new Map<string, number>();
  private sampleEvery: number;
  private sinceSample = 0;
  readonly points: QualityPoint[] = [];
  firstRecordAt: number | undefined;
  lastRecordAt: number | undefined;
  /** When the first record drawn after the shift was generated. */
  shiftAt: number | undefined;
  labelled = 0;
  unscored = 0;
  /** Results or labels dropped while waiting for their other half. */
  unmatched = 0;

  constructor(private readonly options: QualityOptions) {
    this.sampleEvery = options.sampleEvery;
  }

  addResult(result: DriftResult): void {
    const { id, generatedAt } = result.inputRecord;
    this.ledger.add(id);
    this.seen(generatedAt);
    const meta = result.modelResultMetadata;
    if (meta.errors === '' && !this.installed.has(meta.modelName)) this.installed.set(meta.modelName, meta.startTime);
    const scored = { score: meta.errors === '' ? result.score : null, modelName: meta.modelName };
    const labelled = this.labels.get(id);
    if (labelled) {
      this.labels.delete(id);
      this.join(labelled, scored);
    } else this.wait(this.results, id, scored);
  }

  addLabel(labelled: LabelledRecord): void {
    const { id, generatedAt } = labelled.record;
    this.labelled++;
    this.seen(generatedAt);
    if (labelled.shifted && (this.shiftAt === undefined || generatedAt < this.shiftAt)) this.shiftAt = generatedAt;
    const scored = this.results.get(id);
    if (scored) {
      this.results.delete(id);
      this.join(labelled, scored);
    } else this.wait(this.labels, id, labelled);
  }

  /** Models in the order they first scored a record, with when each was installed. */
  models(): ReadonlyMap<string, number> {
    return this.installed;
  }

  /** Results counted: all, distinct ids, ids seen again, and ids below the highest never seen. */
  ids(): { readonly results: number; readonly distinct: number; readonly duplicates: number; readonly missing: number } {
    return {
      results: this.ledger.added,
      distinct: this.ledger.distinct,
      duplicates: this.ledger.added - this.ledger.distinct,
      missing: this.ledger.highest - this.ledger.distinct,
    };
  }

  /**
   * Quality before the shift; after it, of the models installed before it; and after it, of the
   * models installed after it (the retrained ones).
   */
  phases(): { readonly beforeShift: Quality; readonly oldModel: Quality; readonly newModel: Quality } {
    const shift = this.shiftAt ?? Number.POSITIVE_INFINITY;
    const merge = (accept: (shifted: boolean, installedAt: number) => boolean) =>
      Group.merged([...this.groups.values()].filter((g) => accept(g.shifted, this.installed.get(g.modelName) ?? 0)));
    return {
      beforeShift: merge((shifted) => !shifted),
      oldModel: merge((shifted, installedAt) => shifted && installedAt < shift),
      newModel: merge((shifted, installedAt) => shifted && installedAt >= shift),
    };
  }

  /** The newest rolling window's quality, for `/quality`. */
  latest(): QualityPoint | undefined {
    return this.points.at(-1);
  }

  private seen(generatedAt: number): void {
    if (this.firstRecordAt === undefined || generatedAt < this.firstRecordAt) this.firstRecordAt = generatedAt;
    if (this.lastRecordAt === undefined || generatedAt > this.lastRecordAt) this.lastRecordAt = generatedAt;
  }

  private wait<T>(pending: Map<number, T>, id: number, value: T): void {
    pending.set(id, value);
    if (pending.size > this.options.maxPending) {
      const oldest = pending.keys().next().value as number;
      pending.delete(oldest);
      this.unmatched++;
    }
  }

  private join(labelled: LabelledRecord, scored: Scored): void {
    if (scored.score === null) {
      this.unscored++;
      return;
    }
    const key = `${labelled.shifted}/${scored.modelName}`;
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = new Group(labelled.shifted, scored.modelName, this.groups.size + 1)));
    group.add(scored.score, labelled.label, this.options.decisionThreshold);
    this.recent.push({ score: scored.score, label: labelled.label });
    if (this.recent.length > this.options.window) this.recent.shift();
    if (++this.sinceSample >= this.sampleEvery && this.recent.length >= Math.min(this.options.window, this.sampleEvery)) {
      this.sinceSample = 0;
      this.sample(labelled.record.generatedAt);
    }
  }

  private sample(at: number): void {
    const scores = this.recent.map((r) => r.score);
    const labels = this.recent.map((r) => r.label);
    const bothClasses = labels.includes(0) && labels.includes(1);
    this.points.push({ at, accuracy: accuracy(scores, labels, this.options.decisionThreshold), auc: bothClasses ? auc(scores, labels) : undefined });
    if (this.points.length >= MAX_POINTS) {
      const kept = this.points.filter((_, i) => i % 2 === 1);
      this.points.splice(0, this.points.length, ...kept);
      this.sampleEvery *= 2;
    }
  }
}

/** Results of one model on one side of the shift: exact accuracy, and a uniform sample of pairs for the AUC. */
class Group {
  private records = 0;
  private correct = 0;
  private readonly scores: number[] = [];
  private readonly labels: number[] = [];
  private readonly random: () => number;

  constructor(
    readonly shifted: boolean,
    readonly modelName: string,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  add(score: number, label: number, threshold: number): void {
    this.records++;
    if ((score >= threshold ? 1 : 0) === label) this.correct++;
    // Reservoir sampling: every pair seen so far is in the sample with the same chance.
    const slot = this.scores.length < AUC_SAMPLE ? this.scores.length : Math.floor(this.random() * this.records);
    if (slot < AUC_SAMPLE) {
      this.scores[slot] = score;
      this.labels[slot] = label;
    }
  }

  static merged(groups: readonly Group[]): Quality {
    const records = groups.reduce((n, g) => n + g.records, 0);
    const correct = groups.reduce((n, g) => n + g.correct, 0);
    const scores = groups.flatMap((g) => g.scores);
    const labels = groups.flatMap((g) => g.labels);
    return {
      records,
      accuracy: records === 0 ? undefined : correct / records,
      auc: labels.includes(0) && labels.includes(1) ? auc(scores, labels) : undefined,
    };
  }
}

/** Which ids were seen, one bit each: counts every id added, and the distinct ones. */
class IdLedger {
  private bits = new Uint8Array(1024);
  added = 0;
  distinct = 0;
  highest = 0;

  add(id: number): void {
    this.added++;
    if (!Number.isSafeInteger(id) || id < 0) return;
    const byte = Math.floor(id / 8);
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (id % 8);
    if (((this.bits[byte] as number) & mask) === 0) {
      this.bits[byte] = (this.bits[byte] as number) | mask;
      this.distinct++;
    }
    this.highest = Math.max(this.highest, id);
  }
}
