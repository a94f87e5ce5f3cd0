/**
 * The retrain streamlet: labelled feedback on `feedback`, drift events on `drift` (with
 * `drift: true`), the models being served on `models` (with `modelUpdates: true`); the models it
 * publishes on `out` (connect it to model-serving's model inlet) and every decision on
 * `decisions`. It closes the loop build → serve → monitor → retrain inside the pipeline: a
 * schedule, a drift event or the lack of any model starts a retrain; the candidate is trained
 * in-process (a `Trainer` given in code, e.g. `denseClassifierTrainer`) or by an external
 * `command`, measured against the current model on held-out feedback, and published only when it
 * does at least `margin` better. Model-serving's validation gate can check it again on the same
 * held-out records (`holdout-file`).
 */
import type { ConfigValues } from '../../core/config.js';
import { messageOf } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet, type Inlet, type StreamletContext, type StreamletDefinition } from '../../core/streamlet.js';
import { DriftEventSchema, type DriftEvent } from '../../observe/drift/drift-event.js';
import { concurrently } from '../../util/concurrently.js';
import { pause } from '../../util/backoff.js';
import type { ServingAdapter } from '../adapter.js';
import { ModelDescriptorSchema, type ModelDescriptor } from '../descriptor.js';
import { ModelStateStore } from '../model-state.js';
import type { ExecutorRegistry } from '../registry.js';
import type { PredictionsOf } from '../validation/predictions.js';
import { commandTrainer } from './command-trainer.js';
import { RetrainDecisionSchema } from './decision.js';
import type { LabelledExample } from './feedback-window.js';
import { RetrainLoop } from './retrain-loop.js';
import { retrainParameters, retrainSettings, type RetrainParameters } from './settings.js';
import type { Trainer } from './trainer.js';

export interface RetrainerOptions<Feedback, Data, Output, Result> {
  readonly description?: string;
  /** Schema of the labelled feedback records (inlet `feedback`). */
  readonly feedback: Schema<Feedback>;
  /** Schema of the records the model scores: what model-serving reads on `in-0`. */
  readonly data: Schema<Data>;
  /** The record a feedback record labels, and its label (0/1 or true/false for a classifier). */
  readonly example: (feedback: Feedback) => { readonly record: Data; readonly label: number | boolean };
  /** Model-serving's adapter: candidate and current model are scored through it, as they will serve. */
  readonly adapter: ServingAdapter<Data, Output, Result>;
  readonly executors: ExecutorRegistry;
  /** How an output gives its prediction; default as model-serving's (the output, or its only numeric field). */
  readonly predictions?: PredictionsOf<Data, Output>;
  /** The in-process trainer; a configured `command` is used instead. */
  readonly trainer?: Trainer<Data>;
}

type FeedbackInlet<F> = { feedback: Schema<F> };
type DriftInlet<D extends boolean> = D extends true ? { drift: typeof DriftEventSchema } : unknown;
type ModelsInlet<M extends boolean> = M extends true ? { models: typeof ModelDescriptorSchema } : unknown;
export type RetrainInlets<F, D extends boolean, M extends boolean> = FeedbackInlet<F> & DriftInlet<D> & ModelsInlet<M>;

const retrainOutlets = {
  out: outlet(ModelDescriptorSchema, (d) => d.modelName),
  // One key: decisions keep their order on every runtime.
  decisions: outlet(RetrainDecisionSchema, () => 'decisions'),
};
export type RetrainOutlets = typeof retrainOutlets;

type AllInlets<F> = FeedbackInlet<F> & { drift: typeof DriftEventSchema; models: typeof ModelDescriptorSchema };
const volumeMounts = {
  models: {
    description: 'The last model published: after a restart, candidates are compared with it and names continue its number',
    path: '/var/lib/sluice/retrain/models',
  },
  work: { description: "Scratch space for the external trainer's files", path: '/var/lib/sluice/retrain/work' },
};
type RetrainVolumes = typeof volumeMounts;

/**
 * A retrain streamlet. `drift: true` adds the inlet `drift` (DriftEvent: a drifted event
 * triggers a retrain); `modelUpdates: true` adds `models` (ModelDescriptor: the model a
 * candidate must beat, when models come from elsewhere too).
 */
export function retrainer<Feedback, Data, Output, Result, const D extends boolean = false, const M extends boolean = false>(
  options: RetrainerOptions<Feedback, Data, Output, Result> & { readonly drift?: D; readonly modelUpdates?: M },
): StreamletDefinition<RetrainInlets<Feedback, D, M>, RetrainOutlets, RetrainParameters, RetrainVolumes> {
  const inlets: Partial<AllInlets<Feedback>> & FeedbackInlet<Feedback> = { feedback: options.feedback };
  if (options.drift) inlets.drift = DriftEventSchema;
  if (options.modelUpdates) inlets.models = ModelDescriptorSchema;
  const definition = defineStreamlet({
    description:
      options.description ?? 'Retrains the model on labelled feedback (on a schedule, on drift, or when none serves) and publishes candidates that beat it',
    inlets: inlets as AllInlets<Feedback>,
    outlets: retrainOutlets,
    config: retrainParameters,
    volumeMounts,
    run: (ctx) => runRetrainer(ctx, options),
  });
  // The declared inlets are exactly those the options ask for; the type says the same.
  return definition as unknown as StreamletDefinition<RetrainInlets<Feedback, D, M>, RetrainOutlets, RetrainParameters, RetrainVolumes>;
}

async function runRetrainer<Feedback, Data, Output, Result>(
  ctx: StreamletContext<AllInlets<Feedback>, RetrainOutlets, RetrainParameters, RetrainVolumes>,
  options: RetrainerOptions<Feedback, Data, Output, Result> & { readonly drift?: boolean; readonly modelUpdates?: boolean },
): Promise<void> {
  const settings = retrainSettings(ctx.config as ConfigValues<RetrainParameters>, {
    streamlet: ctx.name,
    driftInlet: options.drift === true,
    trainerInCode: options.trainer !== undefined,
  });
  const trainer: Trainer<Data> = settings.command
    ? commandTrainer({
        command: settings.command.line,
        modelType: settings.command.modelType,
        timeoutMs: settings.command.timeoutMs,
        workDirectory: ctx.volumePath('work'),
      })
    : (options.trainer as Trainer<Data>);
  const published = new ModelStateStore(ctx.volumePath('models'));
  const decisions = ctx.metrics.counter('sluice_retrain_decisions_total', 'Decisions of the retrain streamlet', ['outcome', 'trigger']);
  const feedbackRecords = ctx.metrics.gauge('sluice_retrain_feedback_records', 'Labelled feedback records in the window');
  const loop = new RetrainLoop<Data, Output, Result>({
    settings,
    trainer,
    judging: {
      streamlet: ctx.name,
      schema: options.data,
      adapter: options.adapter,
      executors: options.executors,
      predictions: options.predictions,
      batchSize: 512,
    },
    log: ctx.log,
    publish: async (descriptor) => {
      await ctx.emit('out', descriptor);
      await published.save(descriptor).catch((err: unknown) =>
        ctx.log.error('cannot persist the published model; after a restart it is not the current one', {
          model: descriptor.modelName,
          error: messageOf(err),
        }),
      );
    },
    record: async (decision) => {
      decisions.inc({ outcome: decision.outcome, trigger: decision.trigger });
      await ctx.emit('decisions', decision);
    },
  });
  const last = await published.load().catch(async (err: unknown) => {
    const aside = await published.quarantine().catch(() => undefined);
    ctx.log.error('cannot read the last published model; candidates are judged without it', { file: published.file, keptAs: aside, error: messageOf(err) });
    return undefined;
  });
  if (last) {
    loop.modelAnnounced(last);
    ctx.log.info('the last published model is the current one', { model: last.modelName, file: published.file });
  }
  ctx.exposeJson('/retrain', () => loop.state());
  // Libraries load while feedback is collected; a failure here shows again, in full, when training fails.
  void trainer.prepare?.().catch((err: unknown) => ctx.log.warn('the trainer could not get ready', { trainer: trainer.name, error: messageOf(err) }));
  ctx.log.info('retrain ready', {
    trainer: trainer.name,
    interval: settings.intervalMs,
    drift: options.drift === true,
    minSamples: settings.minSamples,
    windowSize: settings.windowSize,
    metric: settings.metric,
    margin: settings.margin,
  });
  const stopOnShutdown = () => loop.stop(ctx.signal.reason);
  ctx.signal.addEventListener('abort', stopOnShutdown, { once: true });
  // Feedback is what retrains learn from: when it ends, so does the streamlet (after a running retrain).
  const feedbackEnded = new AbortController();
  let rejected = 0;
  const feedback = async (signal: AbortSignal) => {
    try {
      for await (const batch of ctx.inlet('feedback').batches({ signal })) {
        const examples: LabelledExample<Data>[] = [];
        for (const record of batch) {
          const example = usableExample(options, record);
          if (typeof example === 'string') {
            if (rejected++ === 0) ctx.log.warn('feedback record left out (only the first is logged)', { reason: example });
          } else examples.push(example);
        }
        await loop.addFeedback(examples);
        feedbackRecords.set({}, loop.feedbackRecords);
      }
    } finally {
      feedbackEnded.abort();
    }
  };
  const scheduled = async (signal: AbortSignal) => {
    if (settings.intervalMs === 0) return;
    for (;;) {
      await pause(settings.intervalMs, signal);
      if (signal.aborted) return;
      await loop.scheduled();
    }
  };
  const drift = async (signal: AbortSignal) => {
    if (!options.drift) return;
    await forEach(ctx.inlet('drift'), signal, (event: DriftEvent) => loop.drift(event));
  };
  const models = async (signal: AbortSignal) => {
    if (!options.modelUpdates) return;
    await forEach(ctx.inlet('models'), signal, async (descriptor: ModelDescriptor) => loop.modelAnnounced(descriptor));
  };
  try {
    const until = feedbackEnded.signal;
    await concurrently([feedback, () => scheduled(until), () => drift(until), () => models(until)]);
    // A retrain that started before the feedback ended publishes its model before the streamlet ends.
    await loop.finished();
  } finally {
    ctx.signal.removeEventListener('abort', stopOnShutdown);
  }
  if (rejected > 0) ctx.log.warn('feedback records left out', { records: rejected });
}

/** The labelled example of a feedback record, or why it cannot be learned from. */
function usableExample<Feedback, Data, Output, Result>(
  options: RetrainerOptions<Feedback, Data, Output, Result>,
  feedback: Feedback,
): LabelledExample<Data> | string {
  const { record, label } = options.example(feedback);
  const value = typeof label === 'boolean' ? Number(label) : label;
  if (!Number.isFinite(value)) return `the label is ${String(label)}, not a finite number or a boolean`;
  const rejected = options.adapter.reject?.(record);
  return rejected === undefined ? { record, label: value } : rejected;
}

async function forEach<T>(inlet: Inlet<T>, signal: AbortSignal, handle: (value: T) => Promise<void>): Promise<void> {
  for await (const batch of inlet.batches({ signal })) {
    for (const value of batch) await handle(value);
  }
}
