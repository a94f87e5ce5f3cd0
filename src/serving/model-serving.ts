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
import { servingMetrics } from './serving-metrics.js';

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
};

/**
 * The model-serving streamlet: records on `in-0`, model descriptors on `in-1`, results on
 * `out`, and a sample of them with their inputs on `audit` (a request log). It is the
 * dynamically controlled stream pattern — the model is data, swapped while the stream runs —
 * with the model persisted on the `models` volume and restored on start, and its statistics
 * at `GET /state`.
 */
export function modelServing<Data, Output, Result, C extends ConfigParameters = {}>(options: ModelServingOptions<Data, Output, Result, C>) {
  for (const key of Object.keys(options.config ?? {})) {
    if (Object.hasOwn(servingParameters, key)) throw new Error(`config parameter ${key} is model-serving's own; give yours another name`);
  }
  return defineStreamlet({
    description: options.description,
    inlets: { 'in-0': options.data, 'in-1': ModelDescriptorSchema },
    outlets: { out: options.result, audit: outlet(ScoringAuditSchema, (a) => a.modelName) },
    config: { ...servingParameters, ...(options.config as C) },
    volumeMounts: { models: { description: 'Where the serving model is persisted and restored from', path: '/var/lib/sluice/models' } },
    async run(ctx) {
      const own = ctx.config as ConfigValues<typeof servingParameters>;
      const adapter = typeof options.adapter === 'function' ? options.adapter(ctx.config as ConfigValues<C>) : options.adapter;
      const slot = new ModelSlot(adapter, options.executors, new ModelStateStore(ctx.volumePath('models')), ctx.log, servingMetrics(ctx.metrics));
      // The restored model serves before any update or record is read.
      await slot.restore();
      ctx.exposeJson('/state', () => slot.state());
      const models = async (signal: AbortSignal) => {
        for await (const descriptor of ctx.inlet('in-1').batches({ maxSize: 1, signal })) {
          for (const update of descriptor) await slot.update(update);
        }
      };
      const records = async (signal: AbortSignal) => {
        const batching = { maxSize: own['batch-size'], maxWait: own['batch-wait'], signal };
        const audit = new AuditSampler(ctx.name, own['audit-sample-rate']);
        for await (const batch of ctx.inlet('in-0').batches(batching)) {
          const { results, metadata } = await slot.score(batch);
          await ctx.emitAll('out', results);
          await ctx.emitAll('audit', audit.sample(batch, results, metadata));
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
