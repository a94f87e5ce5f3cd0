/**
 * Speculative scoring: the primary and every candidate score the same batch, and a decider
 * picks each record's answer on `out` (see {@link decide}). The result's metadata names the
 * model(s) that decided (`a+b`) in `modelName`, and the decider and the models that answered in
 * `source`. With a deadline, models that have not answered by then are left out of the
 * decision; `first` ends as soon as every record has an answer. A model whose late calls are
 * still running is left out of new batches, so a slow model's calls never pile up.
 */
import type { ServingAdapter } from '../adapter.js';
import type { ModelResultMetadata } from '../result-metadata.js';
import { predictionsWith, type PredictionsOf } from '../validation/predictions.js';
import { decide, type ModelAnswer } from './deciders.js';
import type { InstalledModel, Scored } from './installed-model.js';
import type { OutRouting, ScoreOn, ServingModels } from './routing.js';
import type { DeciderName } from './settings.js';

export interface SpeculativeSettings<Data, Output> {
  readonly decider: DeciderName;
  /** 0: wait for every model. */
  readonly deadlineMs: number;
  readonly predictions: PredictionsOf<Data, Output> | undefined;
  readonly decisionThreshold: number;
  /** Calls a model may still be running from earlier batches and be asked again; default 2. */
  readonly maxRunning?: number;
}

interface Arrived<Data, Output, Result> {
  readonly model: InstalledModel<Data, Output, Result>;
  readonly scored: Scored<Output, Result>;
}

export class SpeculativeScoring<Data, Output, Result> implements OutRouting<Data, Output, Result> {
  private readonly decidedBy = new Map<string, number>();
  private late = 0;
  private busy = 0;
  private undecided = 0;

  constructor(
    private readonly settings: SpeculativeSettings<Data, Output>,
    private readonly adapter: ServingAdapter<Data, Output, Result>,
  ) {}

  async score(records: readonly Data[], models: ServingModels<Data, Output, Result>, scoreOn: ScoreOn<Data, Output, Result>): Promise<Scored<Output, Result>> {
    const all = [models.primary, ...models.candidates].filter((m): m is InstalledModel<Data, Output, Result> => m !== undefined);
    const ready = all.filter((m) => m.inFlight < (this.settings.maxRunning ?? 2));
    this.busy += all.length - ready.length;
    // One model alone is not speculation: it answers as itself.
    if (all.length <= 1) return scoreOn(all[0], records);
    const arrived = await this.collect(records, ready);
    // `first` prefers what came first; the other deciders prefer the primary, then candidates in order.
    const preferred = this.settings.decider === 'first' ? arrived : [...arrived].sort((a, b) => ready.indexOf(a.model) - ready.indexOf(b.model));
    const scored: Scored<Output, Result> = { results: [], metadata: [], outputs: [] };
    const silence =
      ready.length === 0
        ? `all ${all.length} models are still scoring earlier batches`
        : `none of the ${ready.length} models answered within ${this.settings.deadlineMs} ms (speculative-deadline)`;
    records.forEach((record, i) => {
      const { output, metadata } = this.decideOne(record, i, preferred, silence);
      scored.results.push(this.adapter.result(record, output, metadata));
      scored.metadata.push(metadata);
      scored.outputs.push(output);
    });
    return scored;
  }

  state(): object {
    const { decider, deadlineMs } = this.settings;
    return { decider, deadlineMs, decidedBy: Object.fromEntries(this.decidedBy), lateAnswers: this.late, busySkips: this.busy, undecided: this.undecided };
  }

  /** The answers that arrived in time, in arrival order. */
  private collect(records: readonly Data[], models: readonly InstalledModel<Data, Output, Result>[]): Promise<Arrived<Data, Output, Result>[]> {
    const { deadlineMs, decider } = this.settings;
    const arrived: Arrived<Data, Output, Result>[] = [];
    return new Promise((resolve) => {
      let waiting = models.length;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        this.late += waiting;
        resolve(arrived);
      };
      const timer = deadlineMs > 0 ? setTimeout(finish, deadlineMs) : undefined;
      if (waiting === 0) finish();
      for (const model of models) {
        void model.score(records).then((scored) => {
          if (done) return;
          arrived.push({ model, scored });
          waiting--;
          if (waiting === 0 || (decider === 'first' && records.every((_, i) => arrived.some((a) => a.scored.outputs[i] !== undefined)))) finish();
        });
      }
    });
  }

  private decideOne(
    record: Data,
    i: number,
    answers: readonly Arrived<Data, Output, Result>[],
    silence: string,
  ): { output: Output | undefined; metadata: ModelResultMetadata } {
    const usable = answers.filter((a) => a.scored.outputs[i] !== undefined);
    if (usable.length === 0) {
      this.undecided++;
      const failed = answers[0]?.scored.metadata[i];
      if (failed) return { output: undefined, metadata: failed };
      return { output: undefined, metadata: this.failure(silence) };
    }
    let modelAnswers: ModelAnswer[];
    let decision: ReturnType<typeof decide>;
    try {
      modelAnswers = usable.map((a) => ({ output: a.scored.outputs[i], predictions: this.predictions(a.scored.outputs[i] as Output, record) }));
      decision = decide(this.settings.decider, modelAnswers, this.settings.decisionThreshold);
    } catch (err) {
      this.undecided++;
      return { output: undefined, metadata: this.failure(`the ${this.settings.decider} decider cannot decide: ${(err as Error).message}`) };
    }
    const deciders = decision.deciders.map((k) => usable[k] as Arrived<Data, Output, Result>);
    for (const d of deciders) this.decidedBy.set(d.model.name, (this.decidedBy.get(d.model.name) ?? 0) + 1);
    const first = deciders[0] as Arrived<Data, Output, Result>;
    return {
      output: decision.output as Output,
      metadata: {
        errors: '',
        modelName: deciders.map((d) => d.model.name).join('+'),
        source: `speculative ${this.settings.decider} of ${usable.map((a) => a.model.name).join(', ')}`,
        startTime: first.model.stats.since,
        duration: Math.max(...deciders.map((d) => (d.scored.metadata[i] as ModelResultMetadata).duration)),
      },
    };
  }

  private predictions(output: Output, record: Data): readonly number[] | undefined {
    // Only majority and confidence need them; an unreadable output fails those with the reason.
    if (this.settings.decider === 'first' || this.settings.decider === 'average') return undefined;
    return predictionsWith(this.settings.predictions, output, record);
  }

  private failure(errors: string): ModelResultMetadata {
    return { errors, modelName: '', source: `speculative ${this.settings.decider}`, startTime: 0, duration: 0 };
  }
}
