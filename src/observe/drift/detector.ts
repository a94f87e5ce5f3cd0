/**
 * The drift detector streamlet: records (inputs or results) on `in`, drift events on `drift`.
 * The first `reference-size` records form the reference window; every following
 * `window-size` records (tumbling windows) are compared with it, feature by feature. With
 * `modelUpdates`, a second inlet `models` takes model descriptors, and each one starts a new
 * reference window: drift is measured against what the installed model first saw.
 */
import { config, type ConfigValues } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet, type Inlet, type StreamletContext, type StreamletDefinition } from '../../core/streamlet.js';
import { ModelDescriptorSchema, type ModelDescriptor } from '../../serving/descriptor.js';
import { concurrently } from '../../util/concurrently.js';
import { DriftEventSchema } from './drift-event.js';
import { resolveFeatures, type FeatureSpecs } from './features.js';
import { defaultDriftSettings, DriftMonitor, type DriftSettings } from './monitor.js';

export interface DriftDetectorOptions<R> {
  readonly description?: string;
  /** Schema of the records on `in`: a data record, or a model-serving result to watch its scores. */
  readonly data: Schema<R>;
  /** The features to watch, by kind (a field of `data`) or with a function that reads them. */
  readonly features: FeatureSpecs<R>;
  /** Adds the inlet `models` (ModelDescriptor): each model installed starts a new reference window. */
  readonly modelUpdates?: boolean;
}

export const driftParameters = {
  'reference-size': config.integer({
    description: 'Records in the reference window, captured at start and after each model update',
    default: defaultDriftSettings.referenceSize,
    min: 2,
  }),
  'window-size': config.integer({
    description: 'Records in each live window compared with the reference (tumbling)',
    default: defaultDriftSettings.windowSize,
    min: 1,
  }),
  'psi-threshold': config.double({
    description: 'Population stability index above which a numeric feature has drifted',
    default: defaultDriftSettings.psiThreshold,
    min: 0,
  }),
  'psi-bins': config.integer({ description: 'Bins of the PSI, cut at the reference quantiles', default: defaultDriftSettings.psiBins, min: 2, max: 1000 }),
  significance: config.double({
    description: 'Chance of a false alarm per window, across all Kolmogorov–Smirnov and chi-squared tests when corrected',
    default: defaultDriftSettings.significance,
    min: 1e-12,
    max: 0.5,
  }),
  correction: config.oneOf({
    description: 'bonferroni: each of the m p-value tests of a window is held to significance / m; none: each to significance',
    values: ['bonferroni', 'none'],
    default: defaultDriftSettings.correction,
  }),
  'min-samples': config.integer({
    description: 'Fewest values a feature needs in the reference and in a window to be tested',
    default: defaultDriftSettings.minSamples,
    min: 1,
  }),
  'numeric-tests': config.oneOf({
    description: 'Tests of numeric features: ks (Kolmogorov–Smirnov), psi, or both',
    values: ['ks', 'psi', 'both'],
    default: defaultDriftSettings.numericTests,
  }),
  emit: config.oneOf({ description: 'all: an event per test per window; drifted: only tests that found drift', values: ['all', 'drifted'], default: 'all' }),
};

const driftOutlets = { drift: outlet(DriftEventSchema, (event) => event.feature) };

type DriftOutlets = typeof driftOutlets;
type DriftParameters = typeof driftParameters;
type RecordsOnly<R> = { in: Schema<R> };
type RecordsAndModels<R> = { in: Schema<R>; models: typeof ModelDescriptorSchema };

export function driftDetector<R>(
  options: DriftDetectorOptions<R> & { readonly modelUpdates: true },
): StreamletDefinition<RecordsAndModels<R>, DriftOutlets, DriftParameters>;
export function driftDetector<R>(options: DriftDetectorOptions<R>): StreamletDefinition<RecordsOnly<R>, DriftOutlets, DriftParameters>;
export function driftDetector<R>(
  options: DriftDetectorOptions<R>,
): StreamletDefinition<RecordsOnly<R>, DriftOutlets, DriftParameters> | StreamletDefinition<RecordsAndModels<R>, DriftOutlets, DriftParameters> {
  const features = resolveFeatures(options.data, options.features, `drift detector on ${options.data.name}`);
  const description = options.description ?? `Detects drift of ${features.map((f) => f.name).join(', ')} against a reference window`;

  async function run(ctx: StreamletContext<RecordsOnly<R>, DriftOutlets, DriftParameters, Record<never, never>>, models: Inlet<ModelDescriptor> | undefined) {
    const monitor = new DriftMonitor(features, driftSettings(ctx.config, ctx.name));
    ctx.exposeJson('/drift', () => monitor.state());
    const statistic = ctx.metrics.gauge('sluice_drift_statistic', 'Latest drift statistic per feature and test', ['feature', 'test']);
    const detected = ctx.metrics.counter('sluice_drift_detected_total', 'Windows in which a test found drift', ['feature', 'test']);
    const windows = ctx.metrics.counter('sluice_drift_windows_total', 'Live windows compared with the reference');
    const onlyDrifted = ctx.config.emit === 'drifted';
    const records = async (signal: AbortSignal) => {
      for await (const batch of ctx.inlet('in').batches({ signal })) {
        const before = monitor.windows;
        const results = monitor.add(batch);
        if (monitor.windows > before) windows.inc({}, monitor.windows - before);
        for (const r of results) {
          statistic.set({ feature: r.feature, test: r.test }, r.statistic);
          if (r.drifted) detected.inc({ feature: r.feature, test: r.test });
        }
        await ctx.emitAll('drift', onlyDrifted ? results.filter((r) => r.drifted) : results);
      }
    };
    const updates = async (signal: AbortSignal) => {
      if (!models) return;
      for await (const batch of models.batches({ maxSize: 1, signal })) {
        for (const descriptor of batch) {
          monitor.restart(descriptor.modelName);
          ctx.log.info('model installed; capturing a new reference window', { model: descriptor.modelName, records: ctx.config['reference-size'] });
        }
      }
    };
    await concurrently([records, updates]);
  }

  if (options.modelUpdates) {
    return defineStreamlet({
      description,
      inlets: { in: options.data, models: ModelDescriptorSchema },
      outlets: driftOutlets,
      config: driftParameters,
      run: (ctx) => run(ctx, ctx.inlet('models')),
    });
  }
  return defineStreamlet({ description, inlets: { in: options.data }, outlets: driftOutlets, config: driftParameters, run: (ctx) => run(ctx, undefined) });
}

/** The monitor's settings from the streamlet's config; rejects combinations under which nothing would ever be tested. */
export function driftSettings(values: ConfigValues<DriftParameters>, streamlet: string): DriftSettings {
  const minSamples = values['min-samples'];
  for (const key of ['reference-size', 'window-size'] as const) {
    if (minSamples > values[key]) {
      throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', {
        where: `${streamlet}.min-samples`,
        message: `${minSamples} is more than ${key} (${values[key]}): no feature could ever be tested`,
      });
    }
  }
  return {
    referenceSize: values['reference-size'],
    windowSize: values['window-size'],
    psiThreshold: values['psi-threshold'],
    psiBins: values['psi-bins'],
    significance: values.significance,
    correction: values.correction,
    minSamples,
    numericTests: values['numeric-tests'],
  };
}
