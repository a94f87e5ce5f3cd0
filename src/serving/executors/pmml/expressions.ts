/**
 * Transformations: DerivedFields and their expressions (Constant, FieldRef, NormContinuous,
 * NormDiscrete, Discretize, MapValues, Apply) compiled into getters. Lookup tables become Maps
 * and piecewise-linear norms become arrays once, when the model loads.
 */
import type { ApplyExpr, DataType, DerivedField, Expression, OpType } from './document.js';
import { PmmlError, PmmlRowError } from './errors.js';
import { intervalTest } from './fields.js';
import { compileBuiltin, isBuiltin } from './functions.js';
import { memoize, Scope, type CompileContext, type Field, type Getter } from './scope.js';
import { convert, describe, inferDataType, INVALID, isNumericType, keyOf, type PresentValue, type Value } from './values.js';

export interface CompiledExpression {
  readonly get: Getter;
  readonly dataType: DataType;
  readonly optype: OpType;
}

/** How deep DefineFunction calls may nest (PMML forbids recursion; this catches it). */
const maxInlineDepth = 32;

/** A DerivedField as a field: its expression, converted to the declared dataType, once per row. */
export function compileDerivedField(field: DerivedField, scope: Scope, ctx: CompileContext): Field {
  const expression = compileExpression(field.expression, scope, ctx);
  const get = castGetter(expression, field.dataType, `DerivedField '${field.name}'`);
  return {
    name: field.name,
    dataType: field.dataType,
    optype: field.optype ?? (isNumericType(field.dataType) ? 'continuous' : 'categorical'),
    get: memoize(ctx.slots.allocate(), get),
  };
}

/** Defines each DerivedField lazily in `scope` (any order), then compiles them all. */
export function defineDerivedFields(fields: readonly DerivedField[], scope: Scope, ctx: CompileContext, path: string): void {
  for (const field of fields) scope.defineLazy(field.name, () => compileDerivedField(field, scope, ctx), field.path);
  scope.compileAll(path);
}

export function compileExpression(expression: Expression, scope: Scope, ctx: CompileContext): CompiledExpression {
  const { path } = expression;
  switch (expression.kind) {
    case 'Constant': {
      const dataType = expression.dataType ?? inferDataType(expression.value);
      const value = expression.missing ? null : constantOf(expression.value, dataType, 'Constant', path);
      return { get: () => value, dataType, optype: isNumericType(dataType) ? 'continuous' : 'categorical' };
    }
    case 'FieldRef': {
      const field = scope.resolve(expression.field, path);
      const replacement = expression.mapMissingTo === undefined ? null : constantOf(expression.mapMissingTo, field.dataType, 'mapMissingTo', path);
      const get = field.get;
      return {
        get: replacement === null ? get : (row) => get(row) ?? replacement,
        dataType: field.dataType,
        optype: field.optype,
      };
    }
    case 'NormContinuous':
      return { get: normContinuous(expression, scope), dataType: 'double', optype: 'continuous' };
    case 'NormDiscrete': {
      const field = scope.resolve(expression.field, path);
      const target = constantOf(expression.value, field.dataType, 'NormDiscrete value', path);
      const whenMissing = expression.mapMissingTo ?? null;
      const get = field.get;
      return {
        get: (row) => {
          const value = get(row);
          return value === null ? whenMissing : value === target ? 1 : 0;
        },
        dataType: 'double',
        optype: 'continuous',
      };
    }
    case 'Discretize': {
      const field = numericField(scope, expression.field, 'Discretize', path);
      const dataType = expression.dataType ?? 'string';
      const tests = expression.bins.map((bin) => intervalTest(bin.interval));
      const values = expression.bins.map((bin) => constantOf(bin.binValue, dataType, 'binValue', path));
      const whenMissing = expression.mapMissingTo === undefined ? null : constantOf(expression.mapMissingTo, dataType, 'mapMissingTo', path);
      const fallback = expression.defaultValue === undefined ? null : constantOf(expression.defaultValue, dataType, 'defaultValue', path);
      const get = field.get;
      return {
        get: (row) => {
          const x = get(row);
          if (x === null) return whenMissing;
          for (let i = 0; i < tests.length; i++) {
            if ((tests[i] as (x: number) => boolean)(x as number)) return values[i] as Value;
          }
          return fallback;
        },
        dataType,
        optype: isNumericType(dataType) ? 'continuous' : 'categorical',
      };
    }
    case 'MapValues':
      return mapValues(expression, scope);
    case 'Apply':
      return apply(expression, scope, ctx);
  }
}

function normContinuous(expression: Extract<Expression, { kind: 'NormContinuous' }>, scope: Scope): Getter {
  const field = numericField(scope, expression.field, 'NormContinuous', expression.path);
  const orig = Float64Array.from(expression.points, (p) => p.orig);
  const norm = Float64Array.from(expression.points, (p) => p.norm);
  const last = orig.length - 1;
  const whenMissing = expression.mapMissingTo ?? null;
  const { outliers } = expression;
  // Linear interpolation on segment i (extrapolation for the first and last segments).
  const on = (i: number, x: number): number =>
    (norm[i] as number) + ((x - (orig[i] as number)) * ((norm[i + 1] as number) - (norm[i] as number))) / ((orig[i + 1] as number) - (orig[i] as number));
  const get = field.get;
  return (row) => {
    const value = get(row);
    if (value === null) return whenMissing;
    const x = value as number;
    if (x < (orig[0] as number)) {
      return outliers === 'asIs' ? on(0, x) : outliers === 'asExtremeValues' ? (norm[0] as number) : null;
    }
    if (x > (orig[last] as number)) {
      return outliers === 'asIs' ? on(last - 1, x) : outliers === 'asExtremeValues' ? (norm[last] as number) : null;
    }
    let i = 0;
    while (i < last - 1 && x > (orig[i + 1] as number)) i++;
    return on(i, x);
  };
}

function mapValues(expression: Extract<Expression, { kind: 'MapValues' }>, scope: Scope): CompiledExpression {
  const { path } = expression;
  const fields = expression.pairs.map((pair) => scope.resolve(pair.field, path));
  const dataType = expression.dataType ?? 'string';
  const optype: OpType = isNumericType(dataType) ? 'continuous' : 'categorical';
  const whenMissing = expression.mapMissingTo === undefined ? null : constantOf(expression.mapMissingTo, dataType, 'mapMissingTo', path);
  const fallback = expression.defaultValue === undefined ? null : constantOf(expression.defaultValue, dataType, 'defaultValue', path);
  const table = new Map<string, Value>();
  for (const [r, row] of expression.rows.entries()) {
    const key = expression.pairs
      .map((pair, i) => {
        const field = fields[i] as Field;
        const cell = row[pair.column] as string;
        const value = convert(cell, field.dataType);
        if (value === INVALID) {
          throw new PmmlError(
            `InlineTable row ${r + 1}: '${cell}' in column '${pair.column}' is not a valid ${field.dataType} for field '${field.name}'`,
            path,
          );
        }
        return keyOf(value);
      })
      .join('\u001f');
    // The first row with a key wins, as a lookup reading the table top-down would find.
    if (!table.has(key)) table.set(key, constantOf(row[expression.outputColumn] as string, dataType, `InlineTable row ${r + 1} output`, path));
  }
  const getters = fields.map((f) => f.get);
  if (getters.length === 0) throw new PmmlError('MapValues has no FieldColumnPair', path);
  const only = getters.length === 1 ? (getters[0] as Getter) : undefined;
  const get: Getter =
    only !== undefined
      ? (row) => {
          const value = only(row);
          if (value === null) return whenMissing;
          const mapped = table.get(keyOf(value));
          return mapped === undefined ? fallback : mapped;
        }
      : (row) => {
          let key = '';
          for (let i = 0; i < getters.length; i++) {
            const value = (getters[i] as Getter)(row);
            if (value === null) return whenMissing;
            key += i === 0 ? keyOf(value) : `\u001f${keyOf(value)}`;
          }
          const mapped = table.get(key);
          return mapped === undefined ? fallback : mapped;
        };
  return { get, dataType, optype };
}

function apply(expression: ApplyExpr, scope: Scope, ctx: CompileContext): CompiledExpression {
  const args = expression.args.map((arg) => compileExpression(arg, scope, ctx));
  if (isBuiltin(expression.function)) return compileBuiltin(expression, args);
  const defined = ctx.functions.get(expression.function);
  if (defined === undefined) {
    throw new PmmlError(
      `function '${expression.function}' is neither a PMML built-in function this executor supports nor defined by a DefineFunction`,
      expression.path,
    );
  }
  if (args.length !== defined.parameters.length) {
    throw new PmmlError(`function '${defined.name}' takes ${defined.parameters.length} argument(s), this Apply passes ${args.length}`, expression.path);
  }
  if (ctx.inlineDepth >= maxInlineDepth) {
    throw new PmmlError(`function '${defined.name}' calls functions more than ${maxInlineDepth} deep (recursion is not allowed in PMML)`, expression.path);
  }
  // The body is inlined at each call: its parameters are the arguments' getters, and it sees
  // nothing else (a DefineFunction body may refer only to its ParameterFields).
  const body = new Scope(undefined, `function '${defined.name}'`);
  defined.parameters.forEach((parameter, i) => {
    const arg = args[i] as CompiledExpression;
    const dataType = parameter.dataType ?? arg.dataType;
    body.define(
      parameter.name,
      { name: parameter.name, dataType, optype: arg.optype, get: castGetter(arg, dataType, `parameter '${parameter.name}' of function '${defined.name}'`) },
      defined.path,
    );
  });
  ctx.inlineDepth++;
  let result: CompiledExpression;
  try {
    result = compileExpression(defined.expression, body, ctx);
  } finally {
    ctx.inlineDepth--;
  }
  const dataType = defined.dataType ?? result.dataType;
  const returned = castGetter(result, dataType, `function '${defined.name}'`);
  const whenMissing = expression.mapMissingTo === undefined ? null : constantOf(expression.mapMissingTo, dataType, 'mapMissingTo', expression.path);
  const fallback = expression.defaultValue === undefined ? null : constantOf(expression.defaultValue, dataType, 'defaultValue', expression.path);
  const getters = args.map((a) => a.get);
  return {
    get: (row) => {
      if (whenMissing !== null) {
        for (const g of getters) if (g(row) === null) return whenMissing;
      }
      return returned(row) ?? fallback;
    },
    dataType,
    optype: result.optype,
  };
}

/** A document constant converted to `dataType`; a value that does not fit rejects the model. */
export function constantOf(text: string, dataType: DataType, what: string, path: string): PresentValue {
  const value = convert(text, dataType);
  if (value === INVALID) throw new PmmlError(`${what} '${text}' is not a valid ${dataType}`, path);
  return value;
}

/** The expression's values converted to `dataType` (a row fails when one does not fit). */
export function castGetter(expression: CompiledExpression, dataType: DataType, what: string): Getter {
  const get = expression.get;
  if (expression.dataType === dataType) return get;
  // Integers are doubles already; a double only needs checking on its way to integer or float.
  if (expression.dataType === 'integer' && dataType === 'double') return get;
  return (row) => {
    const value = get(row);
    if (value === null) return null;
    const converted = convert(value, dataType);
    if (converted === INVALID) throw new PmmlRowError(`${what}: ${describe(value)} is not a valid ${dataType}`);
    return converted;
  };
}

function numericField(scope: Scope, name: string, element: string, path: string): Field {
  const field = scope.resolve(name, path);
  if (!isNumericType(field.dataType)) {
    throw new PmmlError(`${element} needs a numeric field, but '${name}' is ${field.dataType}`, path);
  }
  return field;
}
