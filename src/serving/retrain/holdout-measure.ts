/**
 * Judges models on the held-out feedback: a model is loaded with the executors model-serving
 * uses, checked against the serving adapter, and scored on the held-out records by a validation
 * gate — the same scoring and measures model-serving's gate applies — which only measures here:
 * comparing the candidate with the current model is the check.
 */
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import type { ServingAdapter } from '../adapter.js';
import type { ModelDescriptor } from '../descriptor.js';
import type { ExecutorRegistry } from '../registry.js';
import { ValidationGate } from '../validation/gate.js';
import type { LabelledSet } from '../validation/labelled-set.js';
import type { PredictionsOf } from '../validation/predictions.js';

export const retrainMetrics = ['auc', 'accuracy', 'mae', 'mse'] as const;
export type RetrainMetric = (typeof retrainMetrics)[number];

/** Whether the metric needs labels 0 and 1 (and, for AUC, both of them among the held-out records). */
export function metricNeedsClasses(metric: RetrainMetric): boolean {
  return metric === 'auc' || metric === 'accuracy';
}

/** How much better `candidate` is than `current`: positive when better (a higher AUC or accuracy, a lower error). */
export function improvement(metric: RetrainMetric, candidate: number, current: number): number {
  return metricNeedsClasses(metric) ? candidate - current : current - candidate;
}

export interface HoldoutMeasureOptions<Data, Output, Result> {
  readonly streamlet: string;
  readonly schema: Schema<Data>;
  readonly adapter: ServingAdapter<Data, Output, Result>;
  readonly executors: ExecutorRegistry;
  readonly predictions: PredictionsOf<Data, Output> | undefined;
  readonly metric: RetrainMetric;
  readonly decisionThreshold: number;
  readonly batchSize: number;
}

/** Measures a model on `holdout`; rejects (with a SluiceError) when it cannot load, does not fit, or cannot score the set. */
export type HoldoutMeasure = (descriptor: ModelDescriptor, signal: AbortSignal) => Promise<number>;

export function holdoutMeasure<Data, Output, Result>(options: HoldoutMeasureOptions<Data, Output, Result>, holdout: LabelledSet<Data>): HoldoutMeasure {
  const gate = ValidationGate.fromConfig({
    streamlet: options.streamlet,
    config: {
      'validation-set': '',
      'validation-min-accuracy': 0,
      'validation-min-auc': 0,
      'validation-max-mae': 0,
      'validation-max-mse': 0,
      'decision-threshold': options.decisionThreshold,
    },
    schema: options.schema,
    adapter: options.adapter,
    // No threshold and a check that always passes: the gate measures, the comparison decides.
    options: { set: () => holdout, validate: () => undefined },
    predictions: options.predictions,
    batchSize: options.batchSize,
  });
  if (!gate) throw new Error('a validation gate with a labelled set is always made');
  return async (descriptor, signal) => {
    const model = await options.executors.load(descriptor, { signal });
    try {
      const problems = options.adapter.check(model.metadata());
      if (problems.length > 0) throw new SluiceError('SLUICE_ERR_MODEL_SIGNATURE', { modelName: descriptor.modelName, message: problems.join('; ') });
      const { measures } = await gate.check(descriptor, model);
      const value = measures[options.metric];
      if (value === undefined) {
        throw new SluiceError('SLUICE_ERR_VALIDATION_SET', {
          source: holdout.source,
          message: `${options.metric} cannot be measured: it needs labels 0 and 1, both present among the held-out records`,
        });
      }
      return value;
    } finally {
      await model.unload();
    }
  };
}
