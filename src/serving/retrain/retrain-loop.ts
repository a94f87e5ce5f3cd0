/**
 * When to retrain, and one retrain from start to publication. Feedback fills a sliding window;
 * a trigger (the schedule, a drift event, no model serving yet) starts a retrain once enough
 * feedback is there and the cooldown since the last one has passed. A retrain holds out a share
 * of the window, trains a candidate on the rest, measures candidate and current model on the
 * held-out records, and publishes the candidate only when it does at least `margin` better.
 * Every decision is logged with its reason and handed to `record`.
 */
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { DriftEvent } from '../../observe/drift/drift-event.js';
import { writeFileDurably } from '../../util/durable.js';
import type { ModelDescriptor } from '../descriptor.js';
import { labelledSet } from '../validation/labelled-set.js';
import type { RetrainDecision, RetrainOutcome, RetrainTrigger } from './decision.js';
import { FeedbackWindow, splitHoldout, type LabelledExample } from './feedback-window.js';
import { holdoutMeasure, improvement, metricNeedsClasses, type HoldoutMeasureOptions } from './holdout-measure.js';
import { labelledJsonLines } from './labelled-lines.js';
import type { RetrainSettings } from './settings.js';
import type { Trainer, TrainingSet } from './trainer.js';

export interface RetrainLoopOptions<Data, Output, Result> {
  readonly settings: RetrainSettings;
  readonly trainer: Trainer<Data>;
  /** How models are loaded and scored on the held-out records (metric and threshold come from the settings). */
  readonly judging: Omit<HoldoutMeasureOptions<Data, Output, Result>, 'metric' | 'decisionThreshold'>;
  readonly log: Logger;
  /** Emits a candidate's descriptor; resolves when it was accepted downstream. */
  readonly publish: (descriptor: ModelDescriptor) => Promise<void>;
  /** Emits a decision. */
  readonly record: (decision: RetrainDecision) => Promise<void>;
  readonly clock?: () => number;
}

interface Trigger {
  readonly trigger: RetrainTrigger;
  readonly reason: string;
}

const messages: Readonly<Record<RetrainOutcome, string>> = {
  STARTED: 'retrain started',
  TRAINED: 'candidate trained',
  PUBLISHED: 'candidate published',
  REJECTED: 'candidate rejected; the current model stays',
  SKIPPED: 'retrain skipped',
  FAILED: 'retrain failed; the current model stays',
};

/** Decisions kept for `state()`. */
const RECENT = 20;

export class RetrainLoop<Data, Output, Result> {
  private readonly window: FeedbackWindow<Data>;
  private readonly clock: () => number;
  private readonly stopping = new AbortController();
  private current: ModelDescriptor | undefined;
  /** A trigger waiting for min-samples feedback records. */
  private pending: Trigger | undefined;
  private waitingLogged = false;
  private running: (Trigger & { readonly since: number; readonly done: Promise<void> }) | undefined;
  private lastEnded: number | undefined;
  private sequence = 0;
  /** The drift window last acted on: one trigger per window, however many features drifted in it. */
  private lastDriftWindow: string | undefined;
  private received = 0;
  /** After a drift: feedback arriving before this time is about records from before it. */
  private forgetUntil: number | undefined;
  private forgotten = 0;
  private readonly recent: RetrainDecision[] = [];

  constructor(private readonly options: RetrainLoopOptions<Data, Output, Result>) {
    this.window = new FeedbackWindow(options.settings.windowSize);
    this.clock = options.clock ?? Date.now;
  }

  /** Labelled feedback records in the window now. */
  get feedbackRecords(): number {
    return this.window.size;
  }

  /** New labelled feedback; may start a retrain that was waiting for it. */
  async addFeedback(examples: readonly LabelledExample<Data>[]): Promise<void> {
    this.received += examples.length;
    if (this.forgetUntil !== undefined) {
      if (this.clock() < this.forgetUntil) {
        this.forgotten += examples.length;
        return;
      }
      this.options.log.info('feedback about records from after the drift is collected from now on', { dropped: this.forgotten });
      this.forgetUntil = undefined;
    }
    for (const example of examples) this.window.add(example);
    await this.maybeStart();
  }

  /** The schedule's tick. */
  async scheduled(): Promise<void> {
    await this.request({ trigger: 'SCHEDULE', reason: `scheduled every ${seconds(this.options.settings.intervalMs)} s` });
  }

  /** A drift event: a drifted one triggers a retrain, once per drift window. */
  async drift(event: DriftEvent): Promise<void> {
    if (!event.drifted) return;
    const window = `${event.modelName}#${event.windowIndex}`;
    if (window === this.lastDriftWindow) return;
    this.lastDriftWindow = window;
    const statistic = `${event.test} ${round(event.statistic)}${event.pValue === null ? '' : ` p=${event.pValue.toExponential(2)}`}`;
    await this.request({ trigger: 'DRIFT', reason: `drift of ${event.feature} (${statistic}) in window ${event.windowIndex}` });
  }

  /** A model now serves (read on `models`): candidates are compared with it, and names continue its number. */
  modelAnnounced(descriptor: ModelDescriptor): void {
    this.current = descriptor;
    const prefix = `${this.options.settings.modelName}-`;
    const n = descriptor.modelName.startsWith(prefix) ? Number(descriptor.modelName.slice(prefix.length)) : Number.NaN;
    if (Number.isSafeInteger(n)) this.sequence = Math.max(this.sequence, n);
  }

  /** Stops a running retrain (the application is stopping). */
  stop(reason: unknown): void {
    this.stopping.abort(reason);
  }

  /** Resolves when no retrain is running. */
  async finished(): Promise<void> {
    await this.running?.done;
  }

  state(): object {
    const { settings } = this.options;
    const now = this.clock();
    return {
      feedback: { records: this.window.size, windowSize: settings.windowSize, minSamples: settings.minSamples, received: this.received },
      currentModel: this.current?.modelName ?? null,
      running: this.running ? { trigger: this.running.trigger, reason: this.running.reason, since: this.running.since } : null,
      waiting: this.pending ?? null,
      cooldownLeftMs: Math.max(0, this.cooldownLeft(now)),
      decisions: [...this.recent],
    };
  }

  private cooldownLeft(now: number): number {
    return this.lastEnded === undefined ? 0 : this.lastEnded + this.options.settings.cooldownMs - now;
  }

  private async request(trigger: Trigger): Promise<void> {
    const { settings, log } = this.options;
    if (this.running) return this.skip(trigger, `a ${this.running.trigger} retrain is already running`);
    if (this.pending) {
      if (trigger.trigger === 'SCHEDULE') {
        return this.skip(trigger, `a ${this.pending.trigger} retrain already waits for feedback (${this.window.size} of ${settings.minSamples} records)`);
      }
      log.debug('trigger joins the retrain that waits for feedback', { trigger: trigger.trigger, reason: trigger.reason, waiting: this.pending.trigger });
      return;
    }
    const left = this.cooldownLeft(this.clock());
    if (left > 0) return this.skip(trigger, `cooldown: ${seconds(left)} s of ${seconds(settings.cooldownMs)} s left`);
    if (trigger.trigger === 'DRIFT' && settings.forgetOnDrift) {
      const dropped = this.window.clear();
      this.forgotten = dropped;
      if (settings.labelDelayMs > 0) this.forgetUntil = this.clock() + settings.labelDelayMs;
      log.info('drift: feedback from before it dropped; the retrain learns from what comes after', {
        reason: trigger.reason,
        dropped,
        alsoDroppedForMs: settings.labelDelayMs,
      });
    }
    this.pending = trigger;
    await this.maybeStart();
  }

  private async maybeStart(): Promise<void> {
    const { settings, log } = this.options;
    if (this.running) return;
    if (!this.pending) {
      if (!settings.trainWithoutModel || this.current !== undefined || this.cooldownLeft(this.clock()) > 0) return;
      this.pending = { trigger: 'NO_MODEL', reason: 'no model to compare with: training a first one' };
    }
    const waiting = this.pending;
    if (waiting.trigger === 'NO_MODEL' && this.current !== undefined) {
      // A model was announced while the first one waited for feedback.
      this.pending = undefined;
      return;
    }
    if (this.window.size < settings.minSamples) {
      if (waiting.trigger === 'SCHEDULE') {
        this.pending = undefined;
        return this.skip(waiting, `only ${this.window.size} of min-samples ${settings.minSamples} feedback records`);
      }
      if (!this.waitingLogged) log.info('retrain waits for feedback', { trigger: waiting.trigger, records: this.window.size, minSamples: settings.minSamples });
      this.waitingLogged = true;
      return;
    }
    this.pending = undefined;
    this.waitingLogged = false;
    const since = this.clock();
    const done = this.retrain(waiting, since).finally(() => {
      this.running = undefined;
      this.lastEnded = this.clock();
    });
    this.running = { ...waiting, since, done };
  }

  private async retrain(trigger: Trigger, started: number): Promise<void> {
    const { settings, trainer, judging } = this.options;
    const signal = this.stopping.signal;
    const { training, holdout } = splitHoldout(this.window.snapshot(), settings.holdoutShare);
    const counts = { trainingRecords: training.records.length, holdoutRecords: holdout.records.length };
    const elapsed = () => this.clock() - started;
    let modelName: string | undefined;
    try {
      await this.note('STARTED', trigger.trigger, trigger.reason, { ...counts, durationMs: 0 });
      const unfit = holdoutProblem(settings.metric, holdout);
      if (unfit !== undefined) return await this.note('FAILED', trigger.trigger, unfit, { ...counts, durationMs: elapsed() });
      const trained = await trainer.train(training, signal);
      modelName = `${settings.modelName}-${++this.sequence}`;
      await this.note('TRAINED', trigger.trigger, `${trainer.name}: ${trained.description}`, { ...counts, modelName, durationMs: elapsed() });
      const candidate: ModelDescriptor = {
        modelName,
        description: trained.description,
        modelType: trained.modelType,
        modelBytes: Buffer.from(trained.modelBytes.buffer, trained.modelBytes.byteOffset, trained.modelBytes.byteLength),
        modelSourceLocation: null,
      };
      const set = labelledSet(
        `held-out feedback of ${modelName}`,
        holdout.records.map((record, i) => ({ record, label: holdout.labels[i] as number })),
      );
      const measure = holdoutMeasure({ ...judging, metric: settings.metric, decisionThreshold: settings.decisionThreshold }, set);
      const judged = { ...counts, modelName, metric: settings.metric };
      let candidateScore: number;
      try {
        candidateScore = await measure(candidate, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        return await this.note('REJECTED', trigger.trigger, `the candidate cannot be judged: ${messageOf(err)}`, { ...judged, durationMs: elapsed() });
      }
      const current = this.current;
      let currentScore: number | undefined;
      if (current) {
        try {
          currentScore = await measure(current, signal);
        } catch (err) {
          if (signal.aborted) throw err;
          this.options.log.warn('the current model cannot be measured; the candidate is judged alone', { model: current.modelName, error: messageOf(err) });
        }
      }
      const scores = { ...judged, currentModel: current?.modelName ?? null, candidateScore, currentScore: currentScore ?? null };
      const versus = currentScore === undefined ? '' : ` against ${round(currentScore)} of ${current?.modelName}`;
      if (currentScore !== undefined && improvement(settings.metric, candidateScore, currentScore) < settings.margin) {
        const reason = `${settings.metric} ${round(candidateScore)}${versus}: not better by margin ${settings.margin}`;
        return await this.note('REJECTED', trigger.trigger, reason, { ...scores, durationMs: elapsed() });
      }
      if (settings.holdoutFile !== undefined) {
        await mkdir(dirname(settings.holdoutFile), { recursive: true });
        await writeFileDurably(settings.holdoutFile, labelledJsonLines(holdout));
      }
      // The decision is dated when the model goes out: model-serving may install it before the emit returns.
      const publishedAt = this.clock();
      await this.options.publish(candidate);
      this.current = candidate;
      const why =
        current === undefined ? 'no current model' : currentScore === undefined ? `${current.modelName} could not be measured` : `margin ${settings.margin}`;
      await this.note('PUBLISHED', trigger.trigger, `${settings.metric} ${round(candidateScore)}${versus} (${why})`, {
        ...scores,
        at: publishedAt,
        durationMs: publishedAt - started,
      });
    } catch (err) {
      const reason = signal.aborted ? `stopped: ${messageOf(signal.reason)}` : messageOf(err);
      await this.note('FAILED', trigger.trigger, reason, { ...counts, modelName: modelName ?? null, durationMs: elapsed() });
    }
  }

  private skip(trigger: Trigger, reason: string): Promise<void> {
    return this.note('SKIPPED', trigger.trigger, `${trigger.reason}: ${reason}`, {});
  }

  private async note(outcome: RetrainOutcome, trigger: RetrainTrigger, reason: string, fields: Partial<RetrainDecision>): Promise<void> {
    const decision: RetrainDecision = {
      at: this.clock(),
      outcome,
      trigger,
      reason,
      modelName: null,
      currentModel: this.current?.modelName ?? null,
      metric: this.options.settings.metric,
      candidateScore: null,
      currentScore: null,
      trainingRecords: 0,
      holdoutRecords: 0,
      durationMs: null,
      ...fields,
    };
    this.recent.push(decision);
    if (this.recent.length > RECENT) this.recent.shift();
    const logged = { trigger, reason, currentModel: decision.currentModel, ...fields };
    const level = outcome === 'FAILED' ? 'warn' : 'info';
    this.options.log[level](messages[outcome], Object.fromEntries(Object.entries(logged).filter(([, v]) => v !== null && v !== undefined)));
    await this.options.record(decision);
  }
}

/** Why the held-out records cannot judge models on `metric`; undefined when they can. */
function holdoutProblem(metric: RetrainSettings['metric'], holdout: TrainingSet<unknown>): string | undefined {
  if (!metricNeedsClasses(metric)) return undefined;
  const bad = holdout.labels.find((label) => label !== 0 && label !== 1);
  if (bad !== undefined) return `${metric} needs labels 0 or 1, but a held-out label is ${bad}`;
  if (metric === 'auc' && !(holdout.labels.includes(0) && holdout.labels.includes(1))) {
    return `all ${holdout.labels.length} held-out records are class ${holdout.labels[0]}: auc cannot compare models on one class`;
  }
  return undefined;
}

function round(value: number): string {
  return String(Math.round(value * 10_000) / 10_000);
}

function seconds(ms: number): string {
  return String(Math.round(ms / 10) / 100);
}
