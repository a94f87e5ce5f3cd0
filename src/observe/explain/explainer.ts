/**
 * The explainer streamlet: records on `in`, model descriptors on `models`, and for a share of
 * the records (`sample-rate`) an Explanation on `explanations` — per-feature attributions of the
 * installed model's output by KernelSHAP (default), occlusion or numerical integrated gradients.
 *
 * The background (KernelSHAP's reference sample; its mean is the baseline of the other methods)
 * is given as records, or else the first `background-size` explainable records of the stream.
 * The sample share is of the records that can be explained: a model is installed, the
 * background is complete, and no feature is missing. Records are picked evenly, not at random,
 * so runs repeat.
 */
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { ModelDescriptorSchema } from '../../serving/descriptor.js';
import type { ExecutorRegistry } from '../../serving/registry.js';
import { concurrently } from '../../util/concurrently.js';
import { seededRandom } from '../../util/random.js';
import { resolveFeatures } from '../drift/features.js';
import { columnMeans, type Attribution, type Predict } from './attribution.js';
import { ExplainedModel } from './explained-model.js';
import { explanationMethods, ExplanationSchema, methodSymbol, type Explanation, type ExplanationMethod } from './explanation.js';
import { integratedGradients } from './integrated-gradients.js';
import { kernelShap } from './kernel-shap.js';
import { ModelFeatures, type ModelFeaturesOptions } from './model-features.js';
import { occlusion } from './occlusion.js';

export interface ExplainerOptions<R, V> extends ModelFeaturesOptions<V> {
  readonly description?: string;
  /** Schema of the records on `in`: the model's input records, or results that carry them (see `view`). */
  readonly data: Schema<R>;
  /** The model's input record within a record, e.g. `(result) => result.inputRecord`; default the record itself. */
  readonly view?: (record: R) => V;
  /** Identifies a record in its explanation, e.g. its id. */
  readonly key: (record: R) => string;
  /** A fixed background (e.g. a sample of the training data) instead of the stream's first records. */
  readonly background?: readonly V[];
  /** Loads the models, as model-serving does (`defaultExecutors()`). */
  readonly executors: ExecutorRegistry;
}

export const explainerParameters = {
  'sample-rate': config.double({ description: 'Share of the explainable records that are explained (0: none, 1: all)', default: 0.01, min: 0, max: 1 }),
  method: config.oneOf({ description: 'kernel-shap, occlusion, or integrated-gradients (numerical)', values: explanationMethods, default: 'kernel-shap' }),
  samples: config.integer({ description: 'KernelSHAP: coalitions evaluated per explanation (each costs one row per background record)', default: 256, min: 2 }),
  'background-size': config.integer({ description: 'Records taken from the stream as background when none is given', default: 50, min: 1, max: 100_000 }),
  steps: config.integer({ description: 'Integrated gradients: segments of the path from the baseline', default: 32, min: 1, max: 100_000 }),
  seed: config.integer({ description: 'Seed of the KernelSHAP coalition sampling', default: 1 }),
};

export interface AttributionSettings {
  readonly samples: number;
  readonly steps: number;
  readonly random: () => number;
}

/** Attributions of `x` by `method`, against `background` (row-major, `x.length` features per row). */
export function attribute(
  method: ExplanationMethod,
  predict: Predict,
  x: Float64Array,
  background: Float64Array,
  settings: AttributionSettings,
): Promise<Attribution> {
  switch (method) {
    case 'kernel-shap':
      return kernelShap(predict, x, background, { samples: settings.samples, random: settings.random });
    case 'occlusion':
      return occlusion(predict, x, columnMeans(background, x.length));
    case 'integrated-gradients':
      return integratedGradients(predict, x, columnMeans(background, x.length), { steps: settings.steps });
  }
}

export function explainer<R, V = R>(options: ExplainerOptions<R, V>) {
  const features = new ModelFeatures<V>(options);
  const where = `explainer on ${options.data.name}`;
  const view = options.view ?? ((record: R) => record as unknown as V);
  // Without a view, the features are fields of the records themselves: check them now.
  if (!options.view) resolveFeatures(options.data, Object.fromEntries(features.names.map((name) => [name, 'numeric'])), where);
  const given = options.background?.map((record, i) => {
    const vector = features.vector(record);
    if (typeof vector === 'string') throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `${where}: background record ${i}: ${vector}` });
    return vector;
  });
  if (given?.length === 0) throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `${where}: the background is empty` });
  const width = features.names.length;

  return defineStreamlet({
    description: options.description ?? `Explains a sample of the model's ${features.output} by ${features.names.join(', ')}`,
    inlets: { in: options.data, models: ModelDescriptorSchema },
    outlets: { explanations: outlet(ExplanationSchema, (e) => e.key) },
    config: explainerParameters,
    async run(ctx) {
      const method = ctx.config.method;
      const rate = ctx.config['sample-rate'];
      const settings: AttributionSettings = { samples: ctx.config.samples, steps: ctx.config.steps, random: seededRandom(ctx.config.seed) };
      const model = new ExplainedModel(options.executors, features, ctx.log);
      const backgroundSize = given?.length ?? ctx.config['background-size'];
      const background = new Float64Array(backgroundSize * width);
      given?.forEach((vector, i) => background.set(vector, i * width));
      let backgroundRows = given?.length ?? 0;
      const counts = { explained: 0, withoutModel: 0, notExplainable: 0, failed: 0 };
      let explainable = 0;
      const emitted = ctx.metrics.counter('sluice_explanations_total', 'Explanations emitted', ['model']);
      ctx.exposeJson('/explainer', () => ({
        model: model.installed?.name ?? null,
        since: model.installed?.since ?? null,
        method,
        sampleRate: rate,
        background: { records: backgroundRows, size: backgroundSize },
        rejectedUpdates: model.rejected,
        ...counts,
      }));

      const explain = async (record: R, vector: Float64Array): Promise<Explanation | undefined> =>
        model.use(async (installed) => {
          const result = await attribute(method, installed.predict, vector, background, settings);
          return {
            modelName: installed.name,
            modelSince: installed.since,
            key: options.key(record),
            method: methodSymbol(method),
            output: features.output,
            features: [...features.names],
            values: Array.from(vector),
            attributions: Array.from(result.attributions),
            baseValue: result.baseValue,
            prediction: result.prediction,
            evaluations: result.evaluations,
            timestamp: Date.now(),
          };
        });

      const models = async (signal: AbortSignal) => {
        for await (const batch of ctx.inlet('models').batches({ maxSize: 1, signal })) {
          for (const descriptor of batch) await model.install(descriptor);
        }
      };
      const records = async (signal: AbortSignal) => {
        for await (const batch of ctx.inlet('in').batches({ signal })) {
          const out: Explanation[] = [];
          for (const record of batch) {
            const vector = features.vector(view(record));
            if (typeof vector === 'string') {
              counts.notExplainable++;
              continue;
            }
            if (backgroundRows < backgroundSize) {
              background.set(vector, backgroundRows++ * width);
              continue;
            }
            if (!model.installed) {
              counts.withoutModel++;
              continue;
            }
            // Evenly spread: the n-th explainable record is picked when ⌊n·rate⌋ steps up.
            explainable++;
            if (Math.floor(explainable * rate + 1e-9) === Math.floor((explainable - 1) * rate + 1e-9)) continue;
            try {
              const explanation = await explain(record, vector);
              if (explanation) {
                out.push(explanation);
                counts.explained++;
                emitted.inc({ model: explanation.modelName });
              }
            } catch (err) {
              counts.failed++;
              ctx.log.warn('explaining a record failed', { key: options.key(record), model: model.installed?.name ?? null, error: messageOf(err) });
            }
          }
          await ctx.emitAll('explanations', out);
        }
      };
      try {
        await concurrently([models, records]);
      } finally {
        await model.close();
      }
    },
  });
}
