/**
 * MiningModel: a Segmentation of models, each segment guarded by a predicate (a segment whose
 * predicate is not true does not take part), combined by `multipleModelMethod`:
 *
 * - regression: `sum`, `weightedSum` (Σ w·y), `average`, `weightedAverage` (Σ w·y / Σ w),
 *   `median`, `max`;
 * - classification: `majorityVote` / `weightedMajorityVote` (each segment's predicted class gets
 *   1 / its weight; probabilities are the vote shares), `average` / `weightedAverage` (of the
 *   segments' class probabilities; the most probable class wins, the first in class order on
 *   ties);
 * - both: `modelChain` (segments run in order, each seeing the OutputFields of the ones before;
 *   the last segment that ran gives the result), `selectFirst` (the first segment whose
 *   predicate is true gives the result).
 *
 * A segment without a prediction follows `missingPredictionTreatment`: `returnMissing` makes
 * the whole result missing; `skipSegment` leaves the segment out; `continue` (default) makes a
 * sum/average/median/max missing and counts an empty vote (the vote total grows, no class
 * gains).
 */
import type { MiningModel, Model } from '../document.js';
import { PmmlError } from '../errors.js';
import { compilePredicate, type CompiledPredicate } from '../predicates.js';
import { Scope, type Row } from '../scope.js';
import {
  argmax,
  classLabels,
  type Classification,
  type ClassificationEvaluator,
  type ClassLabel,
  type CompiledModel,
  type Evaluator,
  type Prediction,
  type RegressionEvaluator,
  type TargetInfo,
} from './model.js';

export type NestedCompiler = (model: Model, parent: Scope) => CompiledModel;

interface CompiledSegment {
  readonly name: string;
  readonly predicate: CompiledPredicate | undefined;
  readonly weight: number;
  readonly model: CompiledModel;
}

export function compileMiningModel(model: MiningModel, scope: Scope, target: TargetInfo, compileNested: NestedCompiler): Evaluator {
  const method = model.multipleModelMethod;
  const chain = method === 'modelChain';
  let segmentScope = scope;
  const segments: CompiledSegment[] = model.segments.map((segment, i) => {
    const name = `Segment ${segment.id ?? `#${i + 1}`}`;
    const predicate = segment.predicate.kind === 'True' ? undefined : compilePredicate(segment.predicate, segmentScope);
    const compiled = compileNested(segment.model, segmentScope);
    if (chain && compiled.outputFields.length > 0) {
      // Later segments of a chain see this one's OutputFields.
      const next = new Scope(segmentScope, `the model chain after ${name}`);
      for (const field of compiled.outputFields) next.define(field.name, field, field.path);
      segmentScope = next;
    }
    return { name, predicate, weight: segment.weight, model: compiled };
  });
  const last = segments[segments.length - 1] as CompiledSegment;
  const wrongKind = (segment: CompiledSegment, wanted: string): never => {
    throw new PmmlError(
      `${segment.name} is a ${segment.model.evaluator.kind} model, but multipleModelMethod '${method}' of a ${model.functionName} MiningModel needs ${wanted}`,
      model.path,
    );
  };
  const treatment = model.missingPredictionTreatment;

  if (model.functionName === 'regression') {
    if (method === 'majorityVote' || method === 'weightedMajorityVote') {
      throw new PmmlError(`multipleModelMethod '${method}' applies to classification; this MiningModel is a regression`, model.path);
    }
    if (method === 'modelChain' || method === 'selectFirst') {
      if (last.model.evaluator.kind !== 'regression') wrongKind(last, 'a regression model as its last segment');
      return { kind: 'regression', score: (row) => selected(segments, row, chain, (p) => (typeof p === 'number' ? p : NaN)) };
    }
    const scorers = segments.map((s) => (s.model.evaluator.kind === 'regression' ? s.model.evaluator.score : wrongKind(s, 'regression segments')));
    return aggregateRegression(method, segments, scorers, treatment);
  }

  // Classification: every segment that can give the result maps its classes onto the model's.
  if (method === 'modelChain' || method === 'selectFirst') {
    if (last.model.evaluator.kind !== 'classification') wrongKind(last, 'a classification model as its last segment');
  } else {
    if (method !== 'majorityVote' && method !== 'weightedMajorityVote' && method !== 'average' && method !== 'weightedAverage') {
      throw new PmmlError(`multipleModelMethod '${method}' applies to regression; this MiningModel is a classification`, model.path);
    }
    for (const s of segments) if (s.model.evaluator.kind !== 'classification') wrongKind(s, 'classification segments');
  }
  const eligible = segments.filter((s) => s.model.evaluator.kind === 'classification');
  // A chain's result is its last segment's; its earlier segments may classify other things.
  const resultSegments = chain ? [last] : eligible;
  const candidates = resultSegments.flatMap((s) => (s.model.evaluator as ClassificationEvaluator).classes.map((c) => c.key));
  const classes = classLabels(target, candidates, model.path);
  const mappings = new Map<CompiledSegment, Int32Array>();
  for (const s of eligible) {
    const mapping = classMapping((s.model.evaluator as ClassificationEvaluator).classes, classes);
    if (mapping !== undefined) mappings.set(s, mapping);
  }

  if (method === 'modelChain' || method === 'selectFirst') {
    return {
      kind: 'classification',
      classes,
      classify: (row) =>
        selected(segments, row, chain, (prediction, from) => {
          if (prediction === undefined || typeof prediction === 'number') return undefined;
          const mapping = mappings.get(from);
          return mapping === undefined ? undefined : remap(prediction, mapping, classes.length);
        }),
    };
  }
  return aggregateClassification(method, segments, mappings, classes, treatment, model.path);
}

/**
 * selectFirst: the first segment whose predicate is true; modelChain: every such segment in
 * order (writing its outputs for the next), the last one giving the result.
 */
function selected<T>(segments: readonly CompiledSegment[], row: Row, chain: boolean, result: (p: Prediction, s: CompiledSegment) => T): T {
  let prediction: Prediction;
  let from: CompiledSegment | undefined;
  for (const segment of segments) {
    if (segment.predicate !== undefined && segment.predicate(row) !== true) continue;
    const evaluator = segment.model.evaluator;
    prediction = chain ? segment.model.run(row) : evaluator.kind === 'regression' ? evaluator.score(row) : evaluator.classify(row);
    from = segment;
    if (!chain) break;
  }
  return result(from === undefined ? undefined : prediction, from ?? (segments[0] as CompiledSegment));
}

function aggregateRegression(
  method: MiningModel['multipleModelMethod'],
  segments: readonly CompiledSegment[],
  scorers: readonly RegressionEvaluator['score'][],
  treatment: MiningModel['missingPredictionTreatment'],
): RegressionEvaluator {
  const n = segments.length;
  const predicates = segments.map((s) => s.predicate);
  const weights = Float64Array.from(segments, (s) => s.weight);
  const weighted = method === 'weightedSum' || method === 'weightedAverage';
  const skip = treatment === 'skipSegment';
  const values = new Float64Array(n);
  return {
    kind: 'regression',
    score: (row) => {
      let sum = 0;
      let weightSum = 0;
      let count = 0;
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        const predicate = predicates[i];
        if (predicate !== undefined && predicate(row) !== true) continue;
        const y = (scorers[i] as RegressionEvaluator['score'])(row);
        if (y !== y) {
          if (skip) continue;
          return NaN;
        }
        const w = weighted ? (weights[i] as number) : 1;
        sum += w * y;
        weightSum += w;
        values[count++] = y;
        if (y > max) max = y;
      }
      if (count === 0) return NaN;
      switch (method) {
        case 'sum':
        case 'weightedSum':
          return sum;
        case 'average':
        case 'weightedAverage':
          return sum / weightSum;
        case 'max':
          return max;
        case 'median': {
          const sorted = values.slice(0, count).sort();
          const mid = count >> 1;
          return count % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
        }
        default:
          return NaN;
      }
    },
  };
}

function aggregateClassification(
  method: MiningModel['multipleModelMethod'],
  segments: readonly CompiledSegment[],
  mappings: ReadonlyMap<CompiledSegment, Int32Array>,
  classes: readonly ClassLabel[],
  treatment: MiningModel['missingPredictionTreatment'],
  path: string,
): ClassificationEvaluator {
  const parts = segments.map((s) => {
    const mapping = mappings.get(s);
    if (mapping === undefined) throw new PmmlError(`${s.name} predicts classes the MiningModel does not have`, path);
    return { predicate: s.predicate, classify: (s.model.evaluator as ClassificationEvaluator).classify, mapping, weight: s.weight };
  });
  const vote = method === 'majorityVote' || method === 'weightedMajorityVote';
  const weighted = method === 'weightedMajorityVote' || method === 'weightedAverage';
  const skip = treatment === 'skipSegment';
  const returnMissing = treatment === 'returnMissing';
  return {
    kind: 'classification',
    classes,
    classify: (row) => {
      const p = new Float64Array(classes.length);
      let total = 0;
      for (const part of parts) {
        if (part.predicate !== undefined && part.predicate(row) !== true) continue;
        const result = part.classify(row);
        const w = weighted ? part.weight : 1;
        if (result === undefined) {
          if (returnMissing) return undefined;
          if (skip) continue;
          // continue: an average cannot be taken; a vote is cast for no class.
          if (!vote) return undefined;
          total += w;
          continue;
        }
        total += w;
        if (vote) {
          const at = part.mapping[result.index] as number;
          p[at] = (p[at] as number) + w;
        } else {
          const q = result.probabilities;
          for (let j = 0; j < q.length; j++) {
            const at = part.mapping[j] as number;
            p[at] = (p[at] as number) + w * (q[j] as number);
          }
        }
      }
      if (total === 0) return undefined;
      for (let j = 0; j < p.length; j++) p[j] = (p[j] as number) / total;
      return { index: argmax(p), probabilities: p };
    },
  };
}

/** Where each of a segment's classes sits among the model's; undefined if one is absent. */
function classMapping(from: readonly ClassLabel[], to: readonly ClassLabel[]): Int32Array | undefined {
  const mapping = new Int32Array(from.length);
  for (let i = 0; i < from.length; i++) {
    const at = to.findIndex((c) => c.key === (from[i] as ClassLabel).key);
    if (at < 0) return undefined;
    mapping[i] = at;
  }
  return mapping;
}

function remap(result: Classification, mapping: Int32Array, size: number): Classification {
  let identity = mapping.length === size;
  for (let i = 0; identity && i < mapping.length; i++) identity = mapping[i] === i;
  if (identity) return result;
  const p = new Float64Array(size);
  for (let i = 0; i < mapping.length; i++) p[mapping[i] as number] = result.probabilities[i] as number;
  return { index: mapping[result.index] as number, probabilities: p };
}
