/**
 * Predicates (tree splits, segment selectors, scorecard attributes) compiled into closures with
 * PMML's three-valued logic: `true`, `false`, or `undefined` for UNKNOWN (a comparison with a
 * missing value). `isMissing` / `isNotMissing` are never UNKNOWN.
 *
 * CompoundPredicate: `and` is false if any part is false, else UNKNOWN if any is, else true;
 * `or` is true if any part is true, else UNKNOWN if any is, else false; `xor` is UNKNOWN if any
 * part is, else the parity; `surrogate` is the first part that is not UNKNOWN.
 */
import type { Predicate } from './document.js';
import { PmmlError } from './errors.js';
import { constantOf } from './expressions.js';
import type { Row, Scope } from './scope.js';
import { isNumericType, keyOf, type Value } from './values.js';

export type Truth = boolean | undefined;
export type CompiledPredicate = (row: Row) => Truth;

const alwaysTrue: CompiledPredicate = () => true;
const alwaysFalse: CompiledPredicate = () => false;

export function compilePredicate(predicate: Predicate, scope: Scope): CompiledPredicate {
  switch (predicate.kind) {
    case 'True':
      return alwaysTrue;
    case 'False':
      return alwaysFalse;
    case 'SimplePredicate':
      return simplePredicate(predicate, scope);
    case 'SimpleSetPredicate': {
      const field = scope.resolve(predicate.field, predicate.path);
      const members = new Set(
        predicate.values.map((v) =>
          keyOf(constantOf(v, field.dataType, `SimpleSetPredicate value for ${field.dataType} field '${field.name}':`, predicate.path)),
        ),
      );
      const get = field.get;
      const isIn = predicate.booleanOperator === 'isIn';
      return (row) => {
        const value = get(row);
        return value === null ? undefined : members.has(keyOf(value)) === isIn;
      };
    }
    case 'CompoundPredicate': {
      const parts = predicate.predicates.map((p) => compilePredicate(p, scope));
      switch (predicate.booleanOperator) {
        case 'and':
          return (row) => {
            let unknown = false;
            for (const part of parts) {
              const t = part(row);
              if (t === false) return false;
              if (t === undefined) unknown = true;
            }
            return unknown ? undefined : true;
          };
        case 'or':
          return (row) => {
            let unknown = false;
            for (const part of parts) {
              const t = part(row);
              if (t === true) return true;
              if (t === undefined) unknown = true;
            }
            return unknown ? undefined : false;
          };
        case 'xor':
          return (row) => {
            let result = false;
            for (const part of parts) {
              const t = part(row);
              if (t === undefined) return undefined;
              result = result !== t;
            }
            return result;
          };
        case 'surrogate':
          return (row) => {
            for (const part of parts) {
              const t = part(row);
              if (t !== undefined) return t;
            }
            return undefined;
          };
      }
    }
  }
}

function simplePredicate(predicate: Extract<Predicate, { kind: 'SimplePredicate' }>, scope: Scope): CompiledPredicate {
  const { operator, path } = predicate;
  const field = scope.resolve(predicate.field, path);
  const get = field.get;
  if (operator === 'isMissing') return (row) => get(row) === null;
  if (operator === 'isNotMissing') return (row) => get(row) !== null;
  const c = constantOf(predicate.value as string, field.dataType, `SimplePredicate value for ${field.dataType} field '${field.name}':`, path);

  if (operator === 'equal') {
    return (row) => {
      const v = get(row);
      return v === null ? undefined : v === c;
    };
  }
  if (operator === 'notEqual') {
    return (row) => {
      const v = get(row);
      return v === null ? undefined : v !== c;
    };
  }
  if (isNumericType(field.dataType)) {
    const k = c as number;
    switch (operator) {
      case 'lessThan':
        return (row) => {
          const v = get(row);
          return v === null ? undefined : (v as number) < k;
        };
      case 'lessOrEqual':
        return (row) => {
          const v = get(row);
          return v === null ? undefined : (v as number) <= k;
        };
      case 'greaterThan':
        return (row) => {
          const v = get(row);
          return v === null ? undefined : (v as number) > k;
        };
      case 'greaterOrEqual':
        return (row) => {
          const v = get(row);
          return v === null ? undefined : (v as number) >= k;
        };
    }
  }
  if (field.optype !== 'ordinal' || field.categories === undefined) {
    throw new PmmlError(`SimplePredicate '${operator}' orders values, but field '${field.name}' is ${field.optype} ${field.dataType}`, path);
  }
  // Ordinal values order as their field declares them.
  const order = new Map(field.categories.map((v, i) => [keyOf(v), i]));
  const k = order.get(keyOf(c));
  if (k === undefined) throw new PmmlError(`SimplePredicate value '${predicate.value}' is not a declared value of ordinal field '${field.name}'`, path);
  const rank = (v: Value): number => order.get(keyOf(v as string)) ?? NaN;
  const compare = {
    lessThan: (x: number) => x < k,
    lessOrEqual: (x: number) => x <= k,
    greaterThan: (x: number) => x > k,
    greaterOrEqual: (x: number) => x >= k,
  }[operator];
  return (row) => {
    const v = get(row);
    return v === null ? undefined : compare(rank(v));
  };
}
