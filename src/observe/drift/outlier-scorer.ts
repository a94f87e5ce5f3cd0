/**
 * The outlier scorer streamlet: records on `in`, one OutlierScore per record on `scores`. The
 * first `reference-size` complete records form the reference the scores are measured against
 * (see {@link OutlierModel}); until then, and for a record missing a feature, the score is null
 * and `note` says why — every record gets an answer, so downstream counts match.
 */
import { config } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { numericValue, resolveFeatures, type FeatureSpecs } from './features.js';
import { OutlierModel, outlierMethods } from './outlier.js';
import { OutlierScoreSchema, type OutlierScoreRecord } from './outlier-score.js';

export interface OutlierScorerOptions<R> {
  readonly description?: string;
  readonly data: Schema<R>;
  /** Numeric features: names of numeric fields of `data`, or feature specs (numeric ones only). */
  readonly features: readonly string[] | FeatureSpecs<R>;
  /** Identifies a record in its score, e.g. its id. */
  readonly key: (record: R) => string;
}

export const outlierParameters = {
  'reference-size': config.integer({ description: 'Complete records the reference is fitted on', default: 2000, min: 2 }),
  method: config.oneOf({
    description: 'mahalanobis (correlations count) or robust-z (per-feature, median and MAD)',
    values: outlierMethods,
    default: 'mahalanobis',
  }),
  'threshold-quantile': config.double({ description: 'Quantile of the reference scores above which a record is an outlier', default: 0.999, min: 0.5, max: 1 }),
  shrinkage: config.double({ description: 'Weight of the identity in the shrunk correlation matrix (mahalanobis)', default: 0.01, min: 0, max: 1 }),
  'top-features': config.integer({ description: 'Features named per score, farthest from the reference first', default: 3, min: 0, max: 1000 }),
};

export function outlierScorer<R>(options: OutlierScorerOptions<R>) {
  const where = `outlier scorer on ${options.data.name}`;
  const specs: FeatureSpecs<R> = Array.isArray(options.features)
    ? Object.fromEntries((options.features as readonly string[]).map((name) => [name, 'numeric']))
    : (options.features as FeatureSpecs<R>);
  const features = resolveFeatures(options.data, specs, where);
  const categorical = features.filter((f) => f.kind !== 'numeric').map((f) => f.name);
  if (categorical.length > 0) {
    throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `${where}: outlier scores take numeric features only, not ${categorical.join(', ')}` });
  }
  const names = features.map((f) => f.name);
  return defineStreamlet({
    description: options.description ?? `Scores how far each record's ${names.join(', ')} lie from a reference window`,
    inlets: { in: options.data },
    outlets: { scores: outlet(OutlierScoreSchema, (s) => s.key) },
    config: outlierParameters,
    async run(ctx) {
      const referenceSize = ctx.config['reference-size'];
      const method = ctx.config.method;
      const enumMethod = method === 'mahalanobis' ? 'MAHALANOBIS' : 'ROBUST_Z';
      const reference = new Float64Array(referenceSize * names.length);
      let collected = 0;
      let model: OutlierModel | undefined;
      let outliers = 0;
      let scored = 0;
      ctx.exposeJson('/outliers', () => ({ method, referenceRecords: collected, referenceSize, threshold: model?.threshold ?? null, scored, outliers }));
      const flagged = ctx.metrics.counter('sluice_outliers_total', 'Records scored above the outlier threshold');
      const unscored = (key: string, note: string): OutlierScoreRecord => ({
        key,
        score: null,
        referenceQuantile: null,
        threshold: null,
        outlier: false,
        method: enumMethod,
        topFeatures: [],
        note,
      });
      for await (const batch of ctx.inlet('in').batches()) {
        const out: OutlierScoreRecord[] = [];
        for (const record of batch) {
          const key = options.key(record);
          const row = features.map((f) => numericValue(f.read(record)));
          const missing = names.filter((_, j) => row[j] === undefined);
          if (missing.length > 0) {
            out.push(unscored(key, `missing features: ${missing.join(', ')}`));
            continue;
          }
          if (!model) {
            reference.set(row as number[], collected * names.length);
            if (++collected === referenceSize) {
              model = new OutlierModel(reference, names.length, {
                method,
                thresholdQuantile: ctx.config['threshold-quantile'],
                shrinkage: ctx.config.shrinkage,
              });
              ctx.log.info('outlier reference fitted', { records: referenceSize, method, threshold: model.threshold });
            }
            out.push(unscored(key, `collecting the reference window (${collected} of ${referenceSize} records)`));
            continue;
          }
          const result = model.score(row as number[]);
          scored++;
          if (result.outlier) {
            outliers++;
            flagged.inc();
          }
          out.push({
            key,
            score: result.score,
            referenceQuantile: result.referenceQuantile,
            threshold: model.threshold,
            outlier: result.outlier,
            method: enumMethod,
            topFeatures: farthest(names, result.deviations, ctx.config['top-features']),
            note: '',
          });
        }
        await ctx.emitAll('scores', out);
      }
    },
  });
}

/** The `count` names with the largest absolute deviations, largest first. */
function farthest(names: readonly string[], deviations: Float64Array, count: number): string[] {
  return names
    .map((name, j) => [name, Math.abs(deviations[j] as number)] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name]) => name);
}
