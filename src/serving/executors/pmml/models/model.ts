/**
 * What every compiled model is: an evaluator of one kind (regression or classification), and
 * the pieces the model kinds share: the target field, class labels, Targets, and the shape of
 * a compiled model with its Output.
 */
import type { DataField, DataType, Model, OpType, Target } from '../document.js';
import { PmmlError } from '../errors.js';
import type { CompileContext, Row } from '../scope.js';
import { convert, INVALID, isNumericType, keyOf, type PresentValue, type Value } from '../values.js';

/** One class of a classification model: its value in the target's dataType, and its key. */
export interface ClassLabel {
  readonly key: string;
  readonly value: PresentValue;
}

/** A classification result: the winning class and a probability per class of the model. */
export interface Classification {
  readonly index: number;
  /** Indexed like the model's `classes`. Shared between rows: never written to. */
  readonly probabilities: Float64Array;
}

export interface RegressionEvaluator {
  readonly kind: 'regression';
  /** The predicted value, or NaN when the model makes no prediction for the row. */
  score(row: Row): number;
  /** Scorecards: the reason codes for the row, most important first. */
  readonly reasonCodes?: (row: Row) => readonly string[];
}

export interface ClassificationEvaluator {
  readonly kind: 'classification';
  readonly classes: readonly ClassLabel[];
  /** The classification, or undefined when the model makes no prediction for the row. */
  classify(row: Row): Classification | undefined;
}

export type Evaluator = RegressionEvaluator | ClassificationEvaluator;

/** One row's result: a number (regression, NaN = none), or a classification (or none). */
export type Prediction = number | Classification | undefined;

/** The field a model predicts, as its MiningSchema names it. */
export interface TargetInfo {
  readonly name: string | undefined;
  readonly dataType: DataType;
  readonly dataField: DataField | undefined;
}

/** An output field of a compiled model, readable by later segments of a model chain. */
export interface OutputFieldDef {
  readonly name: string;
  readonly dataType: DataType;
  readonly optype: OpType;
  /** The value `run` wrote for the current row (missing if it did not run). */
  readonly get: (row: Row) => Value;
  readonly isFinalResult: boolean;
  readonly path: string;
}

/** A model compiled with its scope, Targets and Output. */
export interface CompiledModel {
  readonly evaluator: Evaluator;
  readonly target: TargetInfo;
  readonly outputFields: readonly OutputFieldDef[];
  /** Scores one row and writes the model's output fields. */
  run(row: Row): Prediction;
}

export function targetOf(model: Model, ctx: CompileContext): TargetInfo {
  const targets = model.miningSchema.filter((f) => f.usageType === 'target');
  const fallback: DataType = model.functionName === 'classification' ? 'string' : 'double';
  if (targets.length === 0) return { name: undefined, dataType: fallback, dataField: undefined };
  if (targets.length > 1) {
    throw new PmmlError(
      `${model.element} has ${targets.length} target fields (${targets.map((t) => t.name).join(', ')}); only single-target models are supported`,
      model.path,
    );
  }
  const target = targets[0] as (typeof targets)[number];
  const dataField = ctx.dataFields.get(target.name);
  if (dataField === undefined) throw new PmmlError(`target field '${target.name}' is not a DataField`, target.path);
  return { name: target.name, dataType: dataField.dataType, dataField };
}

/**
 * The classes of a classification model, in a fixed order: the target DataField's valid Values
 * as declared, or else the classes the model itself names (`candidates`), sorted (numerically
 * for a numeric target). The order decides which class is "last" (see the executor's tensors).
 */
export function classLabels(target: TargetInfo, candidates: readonly string[], path: string): ClassLabel[] {
  const toLabel = (text: string): ClassLabel => {
    const value = convert(text, target.dataType);
    if (value === INVALID) throw new PmmlError(`class '${text}' is not a valid ${target.dataType} for target '${target.name ?? '(none)'}'`, path);
    return { key: keyOf(value), value };
  };
  const declared = target.dataField?.values.filter((v) => v.property === 'valid').map((v) => toLabel(v.value)) ?? [];
  if (declared.length > 0) {
    const keys = new Set(declared.map((c) => c.key));
    for (const candidate of candidates) {
      if (!keys.has(toLabel(candidate).key)) {
        throw new PmmlError(
          `class '${candidate}' is not one of the values target '${target.name ?? ''}' declares (${declared.map((c) => c.key).join(', ')})`,
          path,
        );
      }
    }
    return declared;
  }
  const byKey = new Map<string, ClassLabel>();
  for (const candidate of candidates) {
    const label = toLabel(candidate);
    if (!byKey.has(label.key)) byKey.set(label.key, label);
  }
  const labels = [...byKey.values()];
  if (isNumericType(target.dataType)) labels.sort((a, b) => (a.value as number) - (b.value as number));
  else labels.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (labels.length === 0) throw new PmmlError('the classification model names no class', path);
  return labels;
}

export function indexOfClass(classes: readonly ClassLabel[], target: TargetInfo, text: string, path: string): number {
  const value = convert(text, target.dataType);
  const index = value === INVALID ? -1 : classes.findIndex((c) => c.key === keyOf(value));
  if (index < 0) throw new PmmlError(`'${text}' is not a class of the model (classes: ${classes.map((c) => c.key).join(', ')})`, path);
  return index;
}

/** The index of the largest probability (the first one on ties). */
export function argmax(probabilities: Float64Array): number {
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if ((probabilities[i] as number) > (probabilities[best] as number)) best = i;
  return best;
}

/**
 * Targets: a regression result is clamped to [min, max], then rescaled (`× rescaleFactor +
 * rescaleConstant`), then rounded by `castInteger`; a missing one takes the TargetValue
 * `defaultValue`. A classification without a result takes the TargetValue `priorProbability`s.
 */
export function applyTargets(evaluator: Evaluator, model: Model, target: TargetInfo): Evaluator {
  const own = model.targets.filter((t) => t.field === undefined || t.field === target.name);
  if (own.length === 0) return evaluator;
  if (own.length > 1) throw new PmmlError(`Targets has ${own.length} Target elements for field '${target.name ?? ''}'`, model.path);
  const spec = own[0] as Target;
  if (evaluator.kind === 'regression') {
    const { rescaleFactor: factor, rescaleConstant: constant, castInteger } = spec;
    const min = spec.min ?? -Infinity;
    const max = spec.max ?? Infinity;
    const fallback = spec.values.find((v) => v.defaultValue !== undefined)?.defaultValue ?? NaN;
    const cast = castInteger === 'round' ? Math.round : castInteger === 'ceiling' ? Math.ceil : castInteger === 'floor' ? Math.floor : undefined;
    const score = evaluator.score;
    return {
      kind: 'regression',
      score: (row) => {
        const y = score(row);
        if (y !== y) return fallback;
        const scaled = (y < min ? min : y > max ? max : y) * factor + constant;
        return cast === undefined ? scaled : cast(scaled);
      },
      ...(evaluator.reasonCodes !== undefined ? { reasonCodes: evaluator.reasonCodes } : {}),
    };
  }
  const priors = spec.values.filter((v) => v.priorProbability !== undefined);
  if (priors.length === 0) return evaluator;
  const probabilities = new Float64Array(evaluator.classes.length);
  for (const prior of priors) {
    if (prior.value === undefined) throw new PmmlError('TargetValue with a priorProbability has no value', prior.path);
    probabilities[indexOfClass(evaluator.classes, target, prior.value, prior.path)] = prior.priorProbability as number;
  }
  const byPriors: Classification = { index: argmax(probabilities), probabilities };
  const classify = evaluator.classify;
  return { kind: 'classification', classes: evaluator.classes, classify: (row) => classify(row) ?? byPriors };
}
