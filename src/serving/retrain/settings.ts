/**
 * A retrain streamlet's config parameters, and the settings they resolve to once checked
 * together: combinations under which no retrain could ever start or be judged stop the start
 * with every problem named.
 */
import { config, type ConfigValues } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import { commandModelTypes, FEEDBACK_PLACEHOLDER, MODEL_PLACEHOLDER, parseCommandLine, type CommandModelType } from './command-trainer.js';
import { retrainMetrics, type RetrainMetric } from './holdout-measure.js';

/** Fewest held-out records two models are compared on. */
export const MIN_HOLDOUT = 10;

export const retrainParameters = {
  'model-name': config.string({
    description: 'Name of the models it publishes, followed by -<n> (1, 2, ...); empty: the streamlet name',
    default: '',
    pattern: /^[A-Za-z0-9._-]*$/,
  }),
  'window-size': config.integer({ description: 'Newest labelled feedback records kept to learn from; older ones leave', default: 5_000, min: 10 }),
  'min-samples': config.integer({ description: 'Fewest feedback records a retrain needs, training and held-out together', default: 500, min: 10 }),
  'holdout-share': config.double({
    description: 'Share of the feedback held out (evenly spread) to compare the candidate with the current model',
    default: 0.2,
    min: 0.05,
    max: 0.5,
  }),
  interval: config.duration({ description: 'Time between scheduled retrains; 0: none (drift, or no model yet, triggers one)', default: 0, min: 0 }),
  cooldown: config.duration({
    description: 'Least time from the end of one retrain to the start of the next; triggers meanwhile are skipped',
    default: 60_000,
    min: 0,
  }),
  'forget-on-drift': config.boolean({
    description: 'On drift, drop the feedback from before it and retrain once min-samples newer records are there (false: retrain on the window at once)',
    default: true,
  }),
  'label-delay': config.duration({
    description:
      'How long after its record a label typically arrives: with forget-on-drift, feedback arriving this long after a drift is about records from before it, and is dropped too',
    default: 0,
    min: 0,
  }),
  'train-without-model': config.boolean({
    description: 'With no current model (none published here or read on models), train one as soon as min-samples records are there',
    default: true,
  }),
  metric: config.oneOf({ description: 'What candidate and current model are compared on, over the held-out records', values: retrainMetrics, default: 'auc' }),
  margin: config.double({
    description:
      'How much better than the current model a candidate must do to be published (AUC or accuracy points, or less error); negative: how much worse it may do',
    default: 0,
  }),
  'decision-threshold': config.double({ description: 'A prediction at or above it means class 1 (for accuracy)', default: 0.5 }),
  command: config.string({
    description: `External trainer, run without a shell: program and arguments; ${FEEDBACK_PLACEHOLDER} becomes the training records file (JSON lines), ${MODEL_PLACEHOLDER} where to write the model. Empty: the trainer given in code`,
    default: '',
  }),
  'command-model-type': config.oneOf({
    description: 'What the external trainer writes',
    values: Object.keys(commandModelTypes) as CommandModelType[],
    default: 'ONNX',
  }),
  'command-timeout': config.duration({ description: 'How long the external trainer may run before it is killed', default: 300_000, min: 1 }),
  'holdout-file': config.string({
    description:
      "Where the held-out records of each published candidate are written (JSON lines, the validation gate's format), for model-serving's validation-set to check it again; empty: not written",
    default: '',
  }),
};

export type RetrainParameters = typeof retrainParameters;

export interface RetrainSettings {
  readonly modelName: string;
  readonly windowSize: number;
  readonly minSamples: number;
  readonly holdoutShare: number;
  /** 0: no schedule. */
  readonly intervalMs: number;
  readonly cooldownMs: number;
  readonly forgetOnDrift: boolean;
  readonly labelDelayMs: number;
  readonly trainWithoutModel: boolean;
  readonly metric: RetrainMetric;
  readonly margin: number;
  readonly decisionThreshold: number;
  /** Undefined: the trainer given in code. */
  readonly command: { readonly line: string; readonly modelType: CommandModelType; readonly timeoutMs: number } | undefined;
  /** Undefined: not written. */
  readonly holdoutFile: string | undefined;
}

/**
 * The settings of streamlet `streamlet`. Throws SLUICE_ERR_CONFIG_INVALID naming every key that
 * cannot work: no trainer, nothing that triggers a retrain, min-samples above window-size, too
 * few held-out records, a command line without its placeholders.
 */
export function retrainSettings(
  values: ConfigValues<RetrainParameters>,
  context: { readonly streamlet: string; readonly driftInlet: boolean; readonly trainerInCode: boolean },
): RetrainSettings {
  const problems: string[] = [];
  const command = values.command.trim();
  if (command === '' && !context.trainerInCode) {
    problems.push('command is empty and the streamlet was given no trainer in code: set command to an external trainer');
  }
  if (command !== '') {
    try {
      parseCommandLine(command);
    } catch (err) {
      problems.push(`command ${(err as Error).message}`);
    }
  }
  if (values.interval === 0 && !context.driftInlet) {
    problems.push('interval is 0 and the streamlet has no drift inlet: nothing would ever trigger a retrain (set interval, or build it with drift: true)');
  }
  if (values['min-samples'] > values['window-size']) {
    problems.push(`min-samples (${values['min-samples']}) is more than window-size (${values['window-size']}): no retrain could ever start`);
  }
  const heldOut = Math.floor(values['min-samples'] * values['holdout-share']);
  if (heldOut < MIN_HOLDOUT) {
    problems.push(
      `min-samples × holdout-share holds out ${heldOut} record(s), fewer than the ${MIN_HOLDOUT} models are compared on: raise min-samples or holdout-share`,
    );
  }
  if (problems.length > 0) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: `streamlet ${context.streamlet} config`, message: problems.join('; ') });
  return Object.freeze({
    modelName: values['model-name'] || context.streamlet,
    windowSize: values['window-size'],
    minSamples: values['min-samples'],
    holdoutShare: values['holdout-share'],
    intervalMs: values.interval,
    cooldownMs: values.cooldown,
    forgetOnDrift: values['forget-on-drift'],
    labelDelayMs: values['label-delay'],
    trainWithoutModel: values['train-without-model'],
    metric: values.metric,
    margin: values.margin,
    decisionThreshold: values['decision-threshold'],
    command: command === '' ? undefined : Object.freeze({ line: command, modelType: values['command-model-type'], timeoutMs: values['command-timeout'] }),
    holdoutFile: values['holdout-file'].trim() || undefined,
  });
}
