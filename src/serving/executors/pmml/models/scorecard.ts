/**
 * Scorecard: score = initialScore + Σ over Characteristics of the partialScore of its first
 * Attribute whose predicate is true (a ComplexPartialScore is an expression). A characteristic
 * that no attribute matches fails the row: exporters cover every case, missing values included.
 *
 * Reason codes (`useReasonCodes`, default true): each characteristic contributes
 * baselineScore − partialScore (`pointsBelow`, default) or partialScore − baselineScore
 * (`pointsAbove`) to the reason code of its matched attribute (or its own); codes are ranked by
 * their summed points, largest first (ties keep document order). OutputField
 * `feature="reasonCode" rank="n"` gives the n-th.
 */
import type { Scorecard } from '../document.js';
import { PmmlError, PmmlRowError } from '../errors.js';
import { compileExpression } from '../expressions.js';
import { compilePredicate, type CompiledPredicate } from '../predicates.js';
import type { CompileContext, Row, Scope } from '../scope.js';
import { isNumericType } from '../values.js';
import type { RegressionEvaluator } from './model.js';

interface CompiledAttribute {
  readonly predicate: CompiledPredicate;
  readonly partialScore: (row: Row) => number;
  readonly reasonCode: string | undefined;
}

interface CompiledCharacteristic {
  readonly name: string;
  readonly baselineScore: number;
  readonly attributes: readonly CompiledAttribute[];
}

export function compileScorecard(model: Scorecard, scope: Scope, ctx: CompileContext): RegressionEvaluator {
  const characteristics: CompiledCharacteristic[] = model.characteristics.map((c, i) => {
    const name = c.name ?? `#${i + 1}`;
    const baselineScore = c.baselineScore ?? model.baselineScore;
    if (model.useReasonCodes && baselineScore === undefined) {
      throw new PmmlError(
        `Characteristic '${name}' has no baselineScore (nor has the Scorecard), which reason codes need; set useReasonCodes="false" if the model has none`,
        c.path,
      );
    }
    return {
      name,
      baselineScore: baselineScore ?? 0,
      attributes: c.attributes.map((a): CompiledAttribute => {
        const reasonCode = a.reasonCode ?? c.reasonCode;
        if (model.useReasonCodes && reasonCode === undefined) {
          throw new PmmlError(
            `Attribute has no reasonCode (nor has Characteristic '${name}'), which reason codes need; set useReasonCodes="false" if the model has none`,
            a.path,
          );
        }
        let partialScore: (row: Row) => number;
        if (a.complexPartialScore !== undefined) {
          const expression = compileExpression(a.complexPartialScore, scope, ctx);
          if (!isNumericType(expression.dataType)) throw new PmmlError(`ComplexPartialScore is ${expression.dataType}, not a number`, a.path);
          const get = expression.get;
          partialScore = (row) => {
            const value = get(row);
            if (value === null) throw new PmmlRowError(`the ComplexPartialScore of Characteristic '${name}' is missing`);
            return value as number;
          };
        } else {
          const constant = a.partialScore as number;
          partialScore = () => constant;
        }
        return { predicate: compilePredicate(a.predicate, scope), partialScore, reasonCode };
      }),
    };
  });

  const matched = (c: CompiledCharacteristic, row: Row): CompiledAttribute => {
    for (const attribute of c.attributes) if (attribute.predicate(row) === true) return attribute;
    throw new PmmlRowError(`no Attribute of Characteristic '${c.name}' matches the row`);
  };
  const initialScore = model.initialScore;
  const below = model.reasonCodeAlgorithm === 'pointsBelow';
  const score = (row: Row): number => {
    let total = initialScore;
    for (const c of characteristics) total += matched(c, row).partialScore(row);
    return total;
  };
  if (!model.useReasonCodes) return { kind: 'regression', score };
  return {
    kind: 'regression',
    score,
    reasonCodes: (row) => {
      const points = new Map<string, number>();
      for (const c of characteristics) {
        const attribute = matched(c, row);
        const partial = attribute.partialScore(row);
        const code = attribute.reasonCode as string;
        points.set(code, (points.get(code) ?? 0) + (below ? c.baselineScore - partial : partial - c.baselineScore));
      }
      // Array.prototype.sort is stable: equal points keep their first-seen order.
      return [...points.entries()].sort((a, b) => b[1] - a[1]).map(([code]) => code);
    },
  };
}
