/**
 * The validation gate: a freshly loaded model scores a held-out labelled set before it may
 * serve, and fails if a configured quality threshold is missed. It runs on the loaded
 * candidate alone, in batches that yield to the event loop between them, so records keep being
 * scored by the serving model meanwhile.
 */
import { setImmediate } from 'node:timers/promises';
import { config, type ConfigValues } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import type { ServingAdapter } from '../adapter.js';
import type { ModelDescriptor } from '../descriptor.js';
import type { LoadedModel } from '../executor.js';
import { readLabelledSet, type LabelledSet } from './labelled-set.js';
import { accuracy, auc, binaryLabels, meanAbsoluteError, meanSquaredError } from './metrics.js';
import { predictionsWith, type PredictionsOf } from './predictions.js';

export const validationParameters = {
  'validation-set': config.string({
    description: 'JSON-lines file of labelled records ({"record": ..., "label": ...}) every model update must pass before it serves; empty: no gate',
    default: '',
  }),
  'validation-min-accuracy': config.double({ description: 'Least accuracy on the validation set (labels 0/1; 0: not checked)', default: 0, min: 0, max: 1 }),
  'validation-min-auc': config.double({ description: 'Least ROC AUC on the validation set (labels 0/1; 0: not checked)', default: 0, min: 0, max: 1 }),
  'validation-max-mae': config.double({ description: 'Largest mean absolute error on the validation set (0: not checked)', default: 0, min: 0 }),
  'validation-max-mse': config.double({ description: 'Largest mean squared error on the validation set (0: not checked)', default: 0, min: 0 }),
  'decision-threshold': config.double({
    description: 'A prediction at or above it means class 1: for validation accuracy, and for agreement, votes and confidence between models',
    default: 0.5,
  }),
};

type ValidationConfig = ConfigValues<typeof validationParameters>;

/** What an application adds to the gate in code. */
export interface ValidationOptions<Data, Output> {
  /** A labelled set made in code, used when `validation-set` is not configured; called at every update, so it may change. */
  readonly set?: () => LabelledSet<Data> | Promise<LabelledSet<Data>>;
  /** A check of the application's own, after the configured thresholds: why the model fails, or undefined when it passes. */
  readonly validate?: (
    records: readonly Data[],
    outputs: readonly Output[],
    labels: readonly (readonly number[])[],
  ) => string | undefined | Promise<string | undefined>;
}

export interface ValidationMeasures {
  /** Only for labels that are all 0 or 1. */
  readonly accuracy?: number;
  /** Only for labels that are all 0 or 1, with both present. */
  readonly auc?: number;
  readonly mae: number;
  readonly mse: number;
}

/** What one gate run found, passed or not (shown at `/state` as `validation.last`). */
export interface ValidationReport {
  readonly modelName: string;
  readonly passed: boolean;
  /** The set's source: its file, or the name the application gave it. */
  readonly set: string;
  readonly records: number;
  /** Labelled values (predictions compared): more than `records` when records have several items. */
  readonly values: number;
  readonly measures: ValidationMeasures;
  /** Each missed threshold, e.g. `auc 0.6120 is below validation-min-auc 0.8`. */
  readonly failures: readonly string[];
  readonly at: number;
}

interface Threshold {
  readonly key: keyof ValidationConfig & string;
  readonly measure: keyof ValidationMeasures;
  readonly limit: number;
  readonly kind: 'min' | 'max';
}

export class ValidationGate<Data, Output, Result> {
  private last: ValidationReport | undefined;

  private constructor(
    private readonly adapter: ServingAdapter<Data, Output, Result>,
    private readonly loadSet: () => Promise<LabelledSet<Data>>,
    private readonly thresholds: readonly Threshold[],
    private readonly options: ValidationOptions<Data, Output>,
    private readonly predictions: PredictionsOf<Data, Output> | undefined,
    private readonly decisionThreshold: number,
    private readonly batchSize: number,
  ) {}

  /**
   * The gate the configuration asks for, or undefined when there is none. A set without
   * anything to check, or thresholds without a set, is a configuration error naming the keys.
   */
  static fromConfig<Data, Output, Result>(settings: {
    readonly streamlet: string;
    readonly config: ValidationConfig;
    readonly schema: Schema<Data>;
    readonly adapter: ServingAdapter<Data, Output, Result>;
    readonly options: ValidationOptions<Data, Output> | undefined;
    /** How an output gives the predictions compared with the labels; default: `defaultPredictions` (predictions.ts). */
    readonly predictions: PredictionsOf<Data, Output> | undefined;
    readonly batchSize: number;
  }): ValidationGate<Data, Output, Result> | undefined {
    const { config: c, options = {} } = settings;
    const thresholds: Threshold[] = [
      { key: 'validation-min-accuracy', measure: 'accuracy', limit: c['validation-min-accuracy'], kind: 'min' },
      { key: 'validation-min-auc', measure: 'auc', limit: c['validation-min-auc'], kind: 'min' },
      { key: 'validation-max-mae', measure: 'mae', limit: c['validation-max-mae'], kind: 'max' },
      { key: 'validation-max-mse', measure: 'mse', limit: c['validation-max-mse'], kind: 'max' },
    ];
    const checked = thresholds.filter((t) => t.limit > 0);
    const file = c['validation-set'].trim();
    const hasSet = file !== '' || options.set !== undefined;
    const hasCheck = checked.length > 0 || options.validate !== undefined;
    const invalid = (message: string) => new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: `streamlet ${settings.streamlet} config`, message });
    if (hasCheck && !hasSet) {
      throw invalid(`${checked.map((t) => t.key).join(', ') || 'the validate option'} needs a labelled set: set validation-set to a JSON-lines file`);
    }
    if (!hasSet) return undefined;
    if (!hasCheck) {
      throw invalid(
        `${file ? `validation-set is "${file}"` : 'a labelled set is given in code'} but nothing is checked on it: set validation-min-accuracy, validation-min-auc, validation-max-mae or validation-max-mse`,
      );
    }
    const fromCode = options.set;
    const loadSet = fromCode && file === '' ? async () => fromCode() : () => readLabelledSet(file, settings.schema);
    return new ValidationGate(settings.adapter, loadSet, checked, options, settings.predictions, c['decision-threshold'], settings.batchSize);
  }

  /** The newest run's report, if any. */
  lastReport(): ValidationReport | undefined {
    return this.last;
  }

  /**
   * Scores the labelled set with `model` and checks it. Resolves with the report when the model
   * passes; rejects with SLUICE_ERR_MODEL_VALIDATION naming each missed threshold, the measured
   * value and the set's size when it fails, or SLUICE_ERR_VALIDATION_SET when the set itself is
   * unusable.
   */
  async check(descriptor: ModelDescriptor, model: LoadedModel): Promise<ValidationReport> {
    const modelName = descriptor.modelName;
    const set = await this.loadSet();
    const outputs = await this.score(modelName, model, set);
    const predictions: number[] = [];
    const labels: number[] = [];
    set.records.forEach((record, i) => {
      const expected = set.labels[i] as readonly number[];
      const given = predictionsWith(this.predictions, outputs[i] as Output, record);
      if (given.length !== expected.length) {
        throw new SluiceError('SLUICE_ERR_MODEL_VALIDATION', {
          modelName,
          message: `record ${i + 1} of ${set.source} has ${expected.length} label(s) but the model gives ${given.length} prediction(s) for it`,
        });
      }
      predictions.push(...given);
      labels.push(...expected);
    });
    const bad = predictions.findIndex((p) => !Number.isFinite(p));
    if (bad >= 0) {
      throw new SluiceError('SLUICE_ERR_MODEL_VALIDATION', {
        modelName,
        message: `the model predicts ${predictions[bad]} for labelled value ${bad + 1} of ${set.source}`,
      });
    }
    const measures = this.measure(set.source, predictions, labels);
    const failures = this.thresholds.flatMap((t) => {
      const value = measures[t.measure] as number;
      const missed = t.kind === 'min' ? value < t.limit : value > t.limit;
      return missed ? [`${t.measure} ${round(value)} is ${t.kind === 'min' ? 'below' : 'above'} ${t.key} ${t.limit}`] : [];
    });
    const own = await this.options.validate?.(set.records, outputs, set.labels);
    if (own !== undefined) failures.push(own);
    const report: ValidationReport = {
      modelName,
      passed: failures.length === 0,
      set: set.source,
      records: set.records.length,
      values: labels.length,
      measures,
      failures,
      at: Date.now(),
    };
    this.last = report;
    if (!report.passed) {
      throw new SluiceError('SLUICE_ERR_MODEL_VALIDATION', {
        modelName,
        message: `${failures.join('; ')} (set ${set.source}: ${report.records} records, ${report.values} labelled values)`,
      });
    }
    return report;
  }

  /** The model's output for every record of the set, in batches that let the stream go on between them. */
  private async score(modelName: string, model: LoadedModel, set: LabelledSet<Data>): Promise<Output[]> {
    const outputs: Output[] = [];
    for (let start = 0; start < set.records.length; start += this.batchSize) {
      const batch = set.records.slice(start, start + this.batchSize);
      batch.forEach((record, i) => {
        const reason = this.adapter.reject?.(record);
        if (reason !== undefined) {
          throw new SluiceError('SLUICE_ERR_VALIDATION_SET', { source: set.source, message: `record ${start + i + 1} cannot be scored: ${reason}` });
        }
      });
      try {
        outputs.push(...this.adapter.fromOutputs(batch, await model.infer(this.adapter.toInputs(batch))));
      } catch (err) {
        throw new SluiceError(
          'SLUICE_ERR_MODEL_VALIDATION',
          { modelName, message: `scoring records ${start + 1}–${start + batch.length} of ${set.source} failed: ${messageOf(err)}` },
          { cause: err },
        );
      }
      await setImmediate();
    }
    return outputs;
  }

  private measure(source: string, predictions: readonly number[], labels: readonly number[]): ValidationMeasures {
    const binary = binaryLabels(labels);
    const both = binary && labels.includes(0) && labels.includes(1);
    const unusable = (message: string) => new SluiceError('SLUICE_ERR_VALIDATION_SET', { source, message });
    const classified = this.thresholds.filter((t) => t.measure === 'accuracy' || t.measure === 'auc').map((t) => t.key);
    if (!binary && classified.length > 0) {
      const bad = labels.find((label) => label !== 0 && label !== 1);
      throw unusable(`${classified.join(' and ')} need labels 0 or 1 (or true/false), but a label is ${bad}`);
    }
    if (!both && classified.includes('validation-min-auc')) {
      throw unusable(`validation-min-auc needs both classes, but all ${labels.length} labels are ${labels[0]}`);
    }
    return {
      ...(binary ? { accuracy: accuracy(predictions, labels, this.decisionThreshold) } : {}),
      ...(both ? { auc: auc(predictions, labels) } : {}),
      mae: meanAbsoluteError(predictions, labels),
      mse: meanSquaredError(predictions, labels),
    };
  }
}

function round(value: number): string {
  return String(Math.round(value * 10_000) / 10_000);
}
