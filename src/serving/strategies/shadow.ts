/**
 * Shadow scoring: the shadow candidates score every batch the primary scored, after it and
 * beside it, and each record's two answers go to the `shadow` outlet as a comparison. Nothing
 * on `out` waits for a shadow or changes because of one: a batch is handed over and the stream
 * goes on. At most `maxPending` batches are being shadowed at once; a batch beyond that is not
 * shadowed (and counted), so a slow shadow or a slow shadow outlet never holds records back.
 */
import { messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { predictionsWith, type PredictionsOf } from '../validation/predictions.js';
import { compare, type Answer, type ComparisonRecord } from './comparison.js';
import type { InstalledModel, Scored } from './installed-model.js';

export interface ShadowSettings<Data, Output> {
  readonly streamlet: string;
  readonly maxPending: number;
  readonly keyOf: (record: Data) => string;
  readonly predictions: PredictionsOf<Data, Output> | undefined;
  readonly decisionThreshold: number;
}

export class ShadowScoring<Data, Output, Result> {
  private readonly pending = new Set<Promise<void>>();
  private compared = 0;
  private agreed = 0;
  private shadowFailed = 0;
  private skipped = 0;
  private unreadable = false;

  constructor(
    private readonly settings: ShadowSettings<Data, Output>,
    private readonly emit: (comparisons: readonly ComparisonRecord[]) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Hands a scored batch to the shadows; returns at once. */
  offer(records: readonly Data[], primary: Scored<Output, Result>, shadows: readonly InstalledModel<Data, Output, Result>[]): void {
    if (shadows.length === 0 || records.length === 0) return;
    if (this.pending.size >= this.settings.maxPending) {
      this.skipped += records.length * shadows.length;
      return;
    }
    // Every shadow's call starts now, before any of them could be retired.
    const calls = shadows.map((shadow) => shadow.score(records).then((scored) => ({ shadow, scored })));
    const task = Promise.all(calls)
      .then((answers) => this.emit(answers.flatMap(({ shadow, scored }) => this.comparisons(records, primary, shadow, scored))))
      .catch((err: unknown) => this.log.warn('shadow comparisons could not be written', { error: messageOf(err) }))
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Waits for every batch handed over so far. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  state(): object {
    return { compared: this.compared, agreed: this.agreed, shadowFailed: this.shadowFailed, skipped: this.skipped, pending: this.pending.size };
  }

  private comparisons(
    records: readonly Data[],
    primary: Scored<Output, Result>,
    shadow: InstalledModel<Data, Output, Result>,
    scored: Scored<Output, Result>,
  ): ComparisonRecord[] {
    const { streamlet, keyOf, decisionThreshold } = this.settings;
    return records.map((record, i) => {
      const comparison = compare(
        streamlet,
        keyOf(record),
        this.answer(record, primary.outputs[i], primary, i),
        { ...this.answer(record, scored.outputs[i], scored, i), since: shadow.stats.since },
        decisionThreshold,
      );
      this.compared++;
      if (comparison.agreement === true) this.agreed++;
      if (comparison.shadowErrors !== '') this.shadowFailed++;
      return comparison;
    });
  }

  private answer(record: Data, output: Output | undefined, scored: Scored<Output, Result>, i: number): Answer {
    return { output, predictions: output === undefined ? undefined : this.predictions(output, record), metadata: scored.metadata[i] as Answer['metadata'] };
  }

  private predictions(output: Output, record: Data): readonly number[] | undefined {
    try {
      return predictionsWith(this.settings.predictions, output, record);
    } catch (err) {
      // Comparisons still carry both outputs; only agreement and difference stay empty. Said once, not per record.
      if (!this.unreadable) this.log.warn('shadow comparisons cannot read predictions; agreement and difference stay null', { error: messageOf(err) });
      this.unreadable = true;
      return undefined;
    }
  }
}
