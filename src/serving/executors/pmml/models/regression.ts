/**
 * RegressionModel: linear regression and (multinomial, ordinal) logistic-style classification.
 *
 * A RegressionTable gives y = intercept + Σ coefficient·x^exponent (NumericPredictor)
 * + Σ coefficient·[x = value] (CategoricalPredictor) + Σ coefficient·x₁·x₂… (PredictorTerm).
 * A missing numeric input makes the table (so the prediction) missing; a missing categorical
 * input contributes nothing (PMML: "the categorical field is ignored").
 *
 * Regression: the single table's y, through `normalizationMethod` (none, logit/softmax =
 * 1/(1+e^−y), exp, probit = Φ(y), cloglog = 1−e^(−e^y), loglog = e^(−e^−y), cauchit =
 * ½ + atan(y)/π).
 *
 * Classification, one table per class, in table order y₁…y_K:
 * - softmax: p_j = e^y_j / Σ e^y_k; simplemax: p_j = y_j / Σ y_k;
 * - logit, probit, cloglog, loglog, cauchit with 2 tables: p₁ = F(y₁), p₂ = 1 − p₁;
 * - none with 2 tables: p₁ = y₁ clamped to [0,1], p₂ = 1 − p₁; with more: p_j = y_j, p_K = 1 − Σ;
 * - ordinal targets (cumulative link, none/logit/…): p_j = F(y_j) − F(y_{j−1}), p_K = 1 − F(y_{K−1}).
 */
import type { NormalizationMethod, RegressionModel, RegressionTable } from '../document.js';
import { PmmlError } from '../errors.js';
import { constantOf } from '../expressions.js';
import type { Getter, Row, Scope } from '../scope.js';
import { isNumericType, keyOf } from '../values.js';
import { argmax, classLabels, indexOfClass, type Evaluator, type TargetInfo } from './model.js';

type TableScorer = (row: Row) => number;

export function compileRegressionModel(model: RegressionModel, scope: Scope, target: TargetInfo): Evaluator {
  const method = model.normalizationMethod;
  if (model.functionName === 'regression') {
    if (model.tables.length !== 1) {
      throw new PmmlError(`a regression RegressionModel has exactly one RegressionTable, this one has ${model.tables.length}`, model.path);
    }
    if (method === 'simplemax') throw new PmmlError('normalizationMethod simplemax applies to classification only', model.path);
    const table = compileTable(model.tables[0] as RegressionTable, scope);
    const link = inverseLink(method);
    return { kind: 'regression', score: link === undefined ? table : (row) => link(table(row)) };
  }

  // Classification.
  const tables = model.tables;
  if (tables.length < 2) {
    throw new PmmlError(`a classification RegressionModel needs a RegressionTable per class, this one has ${tables.length}`, model.path);
  }
  const categories = tables.map((t) => {
    if (t.targetCategory === undefined) throw new PmmlError("a classification RegressionTable has no 'targetCategory'", t.path);
    return t.targetCategory;
  });
  const classes = classLabels(target, categories, model.path);
  const slotOf = Int32Array.from(tables, (t) => indexOfClass(classes, target, t.targetCategory as string, t.path));
  if (new Set(slotOf).size !== slotOf.length) throw new PmmlError('two RegressionTables name the same targetCategory', model.path);
  if (method === 'exp') throw new PmmlError('normalizationMethod exp applies to regression only', model.path);
  const scorers = tables.map((t) => compileTable(t, scope));
  const K = scorers.length;
  const ordinal = target.dataField?.optype === 'ordinal';
  const link = inverseLink(method);
  const multinomial = method === 'softmax' || method === 'simplemax';
  const cumulative = ordinal && !multinomial;
  if (!cumulative && !multinomial && link !== undefined && K > 2) {
    throw new PmmlError(
      `normalizationMethod ${method} with ${K} categories needs an ordinal target; use softmax or simplemax for a categorical one`,
      model.path,
    );
  }
  const y = new Float64Array(K);
  const F = (v: number): number => (link === undefined ? clamp01(v) : link(v));
  return {
    kind: 'classification',
    classes,
    classify: (row) => {
      for (let j = 0; j < K; j++) {
        const v = (scorers[j] as TableScorer)(row);
        if (v !== v) return undefined;
        y[j] = v;
      }
      const p = new Float64Array(classes.length);
      if (cumulative) {
        let previous = 0;
        for (let j = 0; j < K - 1; j++) {
          const cumulated = F(y[j] as number);
          p[slotOf[j] as number] = cumulated - previous;
          previous = cumulated;
        }
        p[slotOf[K - 1] as number] = 1 - previous;
      } else if (multinomial) {
        let max = -Infinity;
        for (let j = 0; j < K; j++) max = Math.max(max, y[j] as number);
        let sum = 0;
        for (let j = 0; j < K; j++) {
          // Softmax is shifted by the largest y so that e^y cannot overflow.
          const v = method === 'softmax' ? Math.exp((y[j] as number) - max) : (y[j] as number);
          y[j] = v;
          sum += v;
        }
        for (let j = 0; j < K; j++) p[slotOf[j] as number] = (y[j] as number) / sum;
      } else if (K === 2) {
        const first = F(y[0] as number);
        p[slotOf[0] as number] = first;
        p[slotOf[1] as number] = 1 - first;
      } else {
        let sum = 0;
        for (let j = 0; j < K - 1; j++) {
          p[slotOf[j] as number] = y[j] as number;
          sum += y[j] as number;
        }
        p[slotOf[K - 1] as number] = 1 - sum;
      }
      return { index: argmax(p), probabilities: p };
    },
  };
}

function compileTable(table: RegressionTable, scope: Scope): TableScorer {
  const numeric = table.numericPredictors.map((p) => ({ get: numericGetter(scope, p.field, p.path), coefficient: p.coefficient, exponent: p.exponent }));
  // All CategoricalPredictors of one field become one lookup.
  const byField = new Map<string, { get: Getter; coefficients: Map<string, number> }>();
  for (const p of table.categoricalPredictors) {
    const field = scope.resolve(p.field, p.path);
    let group = byField.get(p.field);
    if (group === undefined) {
      group = { get: field.get, coefficients: new Map() };
      byField.set(p.field, group);
    }
    const key = keyOf(constantOf(p.value, field.dataType, `CategoricalPredictor value for ${field.dataType} field '${field.name}':`, p.path));
    group.coefficients.set(key, (group.coefficients.get(key) ?? 0) + p.coefficient);
  }
  const categorical = [...byField.values()];
  const terms = table.predictorTerms.map((t) => ({ gets: t.fields.map((f) => numericGetter(scope, f, t.path)), coefficient: t.coefficient }));
  const intercept = table.intercept;

  if (categorical.length === 0 && terms.length === 0 && numeric.every((n) => n.exponent === 1)) {
    // The common linear case, as flat arrays.
    const gets = numeric.map((n) => n.get);
    const coefficients = Float64Array.from(numeric, (n) => n.coefficient);
    return (row) => {
      let y = intercept;
      for (let i = 0; i < gets.length; i++) {
        const x = (gets[i] as Getter)(row);
        if (x === null) return NaN;
        y += (coefficients[i] as number) * (x as number);
      }
      return y;
    };
  }
  return (row) => {
    let y = intercept;
    for (const n of numeric) {
      const x = n.get(row);
      if (x === null) return NaN;
      y += n.coefficient * (n.exponent === 1 ? (x as number) : (x as number) ** n.exponent);
    }
    for (const c of categorical) {
      const x = c.get(row);
      if (x !== null) y += c.coefficients.get(keyOf(x)) ?? 0;
    }
    for (const t of terms) {
      let product = t.coefficient;
      for (const get of t.gets) {
        const x = get(row);
        if (x === null) return NaN;
        product *= x as number;
      }
      y += product;
    }
    return y;
  };
}

function numericGetter(scope: Scope, name: string, path: string): Getter {
  const field = scope.resolve(name, path);
  if (field.dataType === 'boolean') {
    const get = field.get;
    return (row) => {
      const v = get(row);
      return v === null ? null : v === true ? 1 : 0;
    };
  }
  if (!isNumericType(field.dataType)) {
    throw new PmmlError(`field '${name}' is ${field.dataType}, but a NumericPredictor or PredictorTerm needs a number`, path);
  }
  return field.get;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** The inverse link of a normalization method; undefined for none (and simplemax). */
export function inverseLink(method: NormalizationMethod): ((y: number) => number) | undefined {
  switch (method) {
    case 'logit':
    case 'softmax':
      return (y) => 1 / (1 + Math.exp(-y));
    case 'exp':
      return Math.exp;
    case 'probit':
      return normalCdf;
    case 'cloglog':
      return (y) => 1 - Math.exp(-Math.exp(y));
    case 'loglog':
      return (y) => Math.exp(-Math.exp(-y));
    case 'cauchit':
      return (y) => 0.5 + Math.atan(y) / Math.PI;
    case 'none':
    case 'simplemax':
      return undefined;
  }
}

/** Φ(x), the standard normal CDF, to about 1e-15. */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  let tail: number; // erfc(z)
  if (z < 3) {
    // erf(z) = 2/√π · e^(−z²) · Σ 2ⁿ z^(2n+1) / (1·3·…·(2n+1)): all terms positive, no cancellation.
    let term = z;
    let sum = z;
    for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * z * z) / (2 * n + 1);
      sum += term;
    }
    tail = 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
  } else {
    // erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated bottom-up.
    let fraction = z;
    for (let k = 60; k >= 1; k--) fraction = z + k / 2 / fraction;
    tail = Math.exp(-z * z) / Math.sqrt(Math.PI) / fraction;
  }
  return x >= 0 ? 1 - tail / 2 : tail / 2;
}
