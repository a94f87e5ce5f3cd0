import { createHash } from 'node:crypto';
import { config, type ConfigParameters, type ConfigValues } from '../core/config.js';
import type { Schema } from '../core/schema.js';
import { defineStreamlet, outlet, type OutletSpec } from '../core/streamlet.js';
import { concurrently } from '../util/concurrently.js';
import type { ServingAdapter } from './adapter.js';
import { AuditSampler, ScoringAuditSchema } from './audit.js';
import { ModelDescriptorSchema } from './descriptor.js';
import { ModelStateStore } from './model-state.js';
import { ModelSlot } from './model-slot.js';
import type { ExecutorRegistry } from './registry.js';
import { NO_MODEL_ERROR } from './result-metadata.js';
import { servingMetrics } from './serving-metrics.js';
import { CanaryRouting } from './strategies/canary.js';
import { ComparisonRecordSchema } from './strategies/comparison.js';
import { primaryOnly, type OutRouting } from './strategies/routing.js';
import { strategyParameters, strategySettings } from './strategies/settings.js';
import { ShadowScoring } from './strategies/shadow.js';
import { SpeculativeScoring } from './strategies/speculative.js';
import { ValidationGate, validationParameters, type ValidationOptions } from './validation/gate.js';
import type { PredictionsOf } from './validation/predictions.js';

export interface ModelServingOptions<Data, Output, Result, C extends ConfigParameters> {
  readonly description: string;
  /** Schema of the records to score (inlet `in-0`). */
  readonly data: Schema<Data>;
  /** Schema and partition key of the results (outlet `out`). */
  readonly result: OutletSpec<Result>;
  /** Config parameters of the application's own, next to model-serving's. */
  readonly config?: C;
  /** The adapter, or how to make it from the application's config values (made once per run). */
  readonly adapter: ServingAdapter<Data, Output, Result> | ((config: ConfigValues<C>) => ServingAdapter<Data, Output, Result>);
  readonly executors: ExecutorRegistry;
  /**
   * The numbers one record's output gives: what the validation gate compares with labels, and
   * what shadow comparisons, majority votes and confidence compare between models. Default: the
   * output itself when numeric, else its only field holding numbers.
   */
  readonly predictions?: PredictionsOf<Data, Output>;
  /** The validation gate's parts in code: a labelled set made in code, and a check of your own. */
  readonly validation?: ValidationOptions<Data, Output>;
  /**
   * A record's key: canary routing hashes it, shadow comparisons carry it. Default: the key `out`
   * partitions the record's result by (so a key always meets the same model), or, when `out` has
   * no key, a hash of the record's content.
   */
  readonly recordKey?: (record: Data) => string;
}

const servingParameters = {
  'batch-size': config.integer({ description: 'Most records scored in one model call', default: 512, min: 1, max: 65_536 }),
  'batch-wait': config.duration({
    description: 'How long a batch may wait to fill once its first record is there (0: score what has arrived)',
    default: 0,
    min: 0,
    max: 10_000,
  }),
  'audit-sample-rate': config.double({
    description: 'Share of scored records also written, with input, output and model, to the audit outlet (0: none, 1: all)',
    default: 0,
    min: 0,
    max: 1,
  }),
  ...validationParameters,
  ...strategyParameters,
};

/**
 * The model-serving streamlet: records on `in-0`, model descriptors on `in-1`, results on
 * `out`, a sample of them with their inputs on `audit` (a request log), and shadow candidates'
 * answers beside the primary's on `shadow`. It is the dynamically controlled stream pattern —
 * the model is data, swapped while the stream runs — with the model persisted on the `models`
 * volume and restored on start, and its statistics at `GET /state`. An update can be checked on
 * a labelled set first (the validation gate), and candidate models can shadow the primary,
 * take a canary share of the records, or score speculatively beside it.
 */
export function modelServing<Data, Output, Result, C extends ConfigParameters = {}>(options: ModelServingOptions<Data, Output, Result, C>) {
  for (const key of Object.keys(options.config ?? {})) {
    if (Object.hasOwn(servingParameters, key)) throw new Error(`config parameter ${key} is model-serving's own; give yours another name`);
  }
  return defineStreamlet({
    description: options.description,
    inlets: { 'in-0': options.data, 'in-1': ModelDescriptorSchema },
    outlets: {
      out: options.result,
      audit: outlet(ScoringAuditSchema, (a) => a.modelName),
      shadow: outlet(ComparisonRecordSchema, (c) => c.key),
    },
    config: { ...servingParameters, ...(options.config as C) },
    volumeMounts: { models: { description: 'Where the serving model is persisted and restored from', path: '/var/lib/sluice/models' } },
    async run(ctx) {
      const own = ctx.config as ConfigValues<typeof servingParameters>;
      const adapter = typeof options.adapter === 'function' ? options.adapter(ctx.config as ConfigValues<C>) : options.adapter;
      const strategy = strategySettings(ctx.name, own);
      const gate = ValidationGate.fromConfig({
        streamlet: ctx.name,
        config: own,
        schema: options.data,
        adapter,
        options: options.validation,
        predictions: options.predictions,
        batchSize: own['batch-size'],
      });
      const keyOf = options.recordKey ?? defaultRecordKey(options.data, options.result, adapter);
      const threshold = own['decision-threshold'];
      const routing: OutRouting<Data, Output, Result> =
        strategy.strategy === 'canary'
          ? new CanaryRouting({ ...strategy.canary, keyOf })
          : strategy.strategy === 'speculative'
            ? new SpeculativeScoring({ ...strategy.speculative, predictions: options.predictions, decisionThreshold: threshold }, adapter)
            : primaryOnly();
      const shadows =
        strategy.strategy === 'shadow'
          ? new ShadowScoring(
              { streamlet: ctx.name, maxPending: strategy.shadowMaxPending, keyOf, predictions: options.predictions, decisionThreshold: threshold },
              (comparisons) => ctx.emitAll('shadow', comparisons),
              ctx.log,
            )
          : undefined;
      const slot = new ModelSlot(adapter, options.executors, new ModelStateStore(ctx.volumePath('models')), ctx.log, servingMetrics(ctx.metrics), {
        gate,
        routing,
        candidates: strategy.strategy === 'none' ? undefined : { role: strategy.strategy, isCandidate: strategy.isCandidate, max: strategy.maxCandidates },
      });
      // The restored model serves before any update or record is read.
      await slot.restore();
      ctx.exposeJson('/state', () => ({
        ...slot.state(),
        ...(strategy.strategy === 'none' ? {} : { strategy: { name: strategy.strategy, ...routing.state(), ...(shadows ? { shadow: shadows.state() } : {}) } }),
      }));
      const models = async (signal: AbortSignal) => {
        for await (const descriptor of ctx.inlet('in-1').batches({ maxSize: 1, signal })) {
          for (const update of descriptor) await slot.update(update);
        }
      };
      const records = async (signal: AbortSignal) => {
        const batching = { maxSize: own['batch-size'], maxWait: own['batch-wait'], signal };
        const audit = new AuditSampler(ctx.name, own['audit-sample-rate']);
        try {
          for await (const batch of ctx.inlet('in-0').batches(batching)) {
            const scored = await slot.score(batch);
            // One result per record, linked to it: on JetStream a redelivered record's result is dropped as a duplicate.
            await ctx.emitAll('out', scored.results, { origins: batch });
            await ctx.emitAll('audit', audit.sample(batch, scored.results, scored.metadata));
            // After out has the results: the shadows score beside the stream, never in its way.
            shadows?.offer(batch, scored, slot.candidates());
          }
        } finally {
          await shadows?.drain();
        }
      };
      try {
        await concurrently([models, records]);
      } finally {
        await slot.close();
      }
    },
  });
}

/** The key `out` would partition the record's result by, or a hash of the record's content when `out` has no key. */
function defaultRecordKey<Data, Output, Result>(
  data: Schema<Data>,
  result: OutletSpec<Result>,
  adapter: ServingAdapter<Data, Output, Result>,
): (record: Data) => string {
  const resultKey = result.key;
  if (resultKey) {
    // The adapter's answer without an output is the record's result as far as any key can see: it carries the input.
    const metadata = { errors: NO_MODEL_ERROR, modelName: '', source: '', startTime: 0, duration: 0 };
    return (record) => resultKey(adapter.result(record, undefined, metadata));
  }
  return (record) => createHash('sha1').update(data.encode(record)).digest('hex').slice(0, 16);
}
