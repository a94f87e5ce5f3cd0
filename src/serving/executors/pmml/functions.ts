/**
 * PMML's built-in functions for `Apply`: arithmetic, mathematics, comparisons, boolean logic,
 * set membership, `if`, and a few string functions.
 *
 * Missing values: `isMissing`, `isNotMissing` and `if` look at their arguments themselves;
 * every other function returns a missing value when an argument is missing. The Apply then
 * gives `mapMissingTo` when an argument was missing, and `defaultValue` when the result is
 * missing. A numeric result that is not a finite number (`ln(0)`, `x/0`) is invalid and follows
 * the Apply's `invalidValueTreatment`: `returnInvalid` (default) fails the row, `asMissing`
 * makes it missing, `asIs` keeps it.
 */
import type { ApplyExpr, DataType } from './document.js';
import { PmmlError, PmmlRowError } from './errors.js';
import type { CompiledExpression } from './expressions.js';
import type { Getter } from './scope.js';
import { convert, INVALID, isNumericType, type PresentValue, type Value } from './values.js';

type Impl = (args: PresentValue[]) => Value;
type ResultType = (args: readonly CompiledExpression[]) => DataType;

interface Builtin {
  readonly minArgs: number;
  readonly maxArgs: number;
  /** What the arguments must be. */
  readonly args: 'numeric' | 'boolean' | 'string' | 'comparable' | 'any';
  readonly result: DataType | ResultType;
  readonly impl: Impl;
}

const num = (v: PresentValue | undefined): number => v as number;
const numericResult: ResultType = (args) => (args.every((a) => a.dataType === 'integer') ? 'integer' : 'double');
const unary = (f: (x: number) => number): Builtin => ({ minArgs: 1, maxArgs: 1, args: 'numeric', result: 'double', impl: (a) => f(num(a[0])) });
const rounding = (f: (x: number) => number): Builtin => ({ minArgs: 1, maxArgs: 1, args: 'numeric', result: 'integer', impl: (a) => f(num(a[0])) });
const binary = (f: (x: number, y: number) => number, result: DataType | ResultType = 'double'): Builtin => ({
  minArgs: 2,
  maxArgs: 2,
  args: 'numeric',
  result,
  impl: (a) => f(num(a[0]), num(a[1])),
});
const variadic = (f: (xs: number[]) => number, result: DataType | ResultType): Builtin => ({
  minArgs: 1,
  maxArgs: Infinity,
  args: 'numeric',
  result,
  impl: (a) => f(a as number[]),
});
const compare = (f: (x: PresentValue, y: PresentValue) => boolean): Builtin => ({
  minArgs: 2,
  maxArgs: 2,
  args: 'comparable',
  result: 'boolean',
  impl: (a) => f(a[0] as PresentValue, a[1] as PresentValue),
});

/** Rounds half to even (`rint`). */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const builtins: Readonly<Record<string, Builtin>> = {
  '+': binary((x, y) => x + y, numericResult),
  '-': binary((x, y) => x - y, numericResult),
  '*': binary((x, y) => x * y, numericResult),
  '/': binary((x, y) => x / y),
  min: variadic((xs) => Math.min(...xs), numericResult),
  max: variadic((xs) => Math.max(...xs), numericResult),
  sum: variadic((xs) => xs.reduce((s, x) => s + x, 0), numericResult),
  product: variadic((xs) => xs.reduce((p, x) => p * x, 1), numericResult),
  avg: variadic((xs) => xs.reduce((s, x) => s + x, 0) / xs.length, 'double'),
  median: variadic(median, 'double'),
  log10: unary(Math.log10),
  ln: unary(Math.log),
  ln1p: unary(Math.log1p),
  exp: unary(Math.exp),
  expm1: unary(Math.expm1),
  sqrt: unary(Math.sqrt),
  abs: { ...unary(Math.abs), result: numericResult },
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  tan: unary(Math.tan),
  asin: unary(Math.asin),
  acos: unary(Math.acos),
  atan: unary(Math.atan),
  sinh: unary(Math.sinh),
  cosh: unary(Math.cosh),
  tanh: unary(Math.tanh),
  floor: rounding(Math.floor),
  ceil: rounding(Math.ceil),
  // PMML's round is half up, as Math.round is (Java's Math.round too).
  round: rounding(Math.round),
  rint: rounding(rint),
  pow: binary(Math.pow, numericResult),
  atan2: binary(Math.atan2),
  hypot: binary(Math.hypot),
  modulo: binary((x, y) => x - y * Math.floor(x / y), numericResult),
  threshold: binary((x, y) => (x > y ? 1 : 0), 'integer'),
  equal: compare((x, y) => x === y),
  notEqual: compare((x, y) => x !== y),
  lessThan: compare((x, y) => x < y),
  lessOrEqual: compare((x, y) => x <= y),
  greaterThan: compare((x, y) => x > y),
  greaterOrEqual: compare((x, y) => x >= y),
  and: { minArgs: 2, maxArgs: Infinity, args: 'boolean', result: 'boolean', impl: (a) => a.every((x) => x === true) },
  or: { minArgs: 2, maxArgs: Infinity, args: 'boolean', result: 'boolean', impl: (a) => a.some((x) => x === true) },
  not: { minArgs: 1, maxArgs: 1, args: 'boolean', result: 'boolean', impl: (a) => a[0] !== true },
  isIn: { minArgs: 2, maxArgs: Infinity, args: 'comparable', result: 'boolean', impl: (a) => a.indexOf(a[0] as PresentValue, 1) > 0 },
  isNotIn: { minArgs: 2, maxArgs: Infinity, args: 'comparable', result: 'boolean', impl: (a) => a.indexOf(a[0] as PresentValue, 1) < 0 },
  uppercase: { minArgs: 1, maxArgs: 1, args: 'string', result: 'string', impl: (a) => (a[0] as string).toUpperCase() },
  lowercase: { minArgs: 1, maxArgs: 1, args: 'string', result: 'string', impl: (a) => (a[0] as string).toLowerCase() },
  trimBlanks: { minArgs: 1, maxArgs: 1, args: 'string', result: 'string', impl: (a) => (a[0] as string).trim() },
  stringLength: { minArgs: 1, maxArgs: 1, args: 'string', result: 'integer', impl: (a) => (a[0] as string).length },
  substring: {
    minArgs: 3,
    maxArgs: 3,
    args: 'any',
    result: 'string',
    // PMML positions start at 1.
    impl: (a) => {
      const start = Math.max(0, num(a[1]) - 1);
      return String(a[0]).slice(start, start + Math.max(0, num(a[2])));
    },
  },
  concat: { minArgs: 2, maxArgs: Infinity, args: 'any', result: 'string', impl: (a) => a.map(String).join('') },
};

/** Functions that see missing arguments themselves. */
const missingAware = ['isMissing', 'isNotMissing', 'if'] as const;

export function isBuiltin(name: string): boolean {
  return Object.hasOwn(builtins, name) || (missingAware as readonly string[]).includes(name);
}

export function compileBuiltin(expression: ApplyExpr, args: readonly CompiledExpression[]): CompiledExpression {
  const name = expression.function;
  const at = expression.path;
  const constant = (text: string | undefined, dataType: DataType, what: string): Value => {
    if (text === undefined) return null;
    const value = convert(text, dataType);
    if (value === INVALID) throw new PmmlError(`Apply ${what} '${text}' is not a valid ${dataType}`, at);
    return value;
  };
  const arity = (min: number, max: number): void => {
    if (args.length < min || args.length > max) {
      const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new PmmlError(`function '${name}' takes ${wanted} argument(s), this Apply passes ${args.length}`, at);
    }
  };
  const getters = args.map((a) => a.get);
  const optypeOf = (dataType: DataType): 'continuous' | 'categorical' => (isNumericType(dataType) ? 'continuous' : 'categorical');

  if (name === 'isMissing' || name === 'isNotMissing') {
    arity(1, 1);
    const g = getters[0] as Getter;
    const missing = name === 'isMissing';
    return { get: (row) => (g(row) === null) === missing, dataType: 'boolean', optype: 'categorical' };
  }
  if (name === 'if') {
    arity(2, 3);
    const [cond, then, otherwise] = getters as [Getter, Getter, Getter | undefined];
    const dataType = resultOfBranches(args);
    const whenMissing = constant(expression.mapMissingTo, dataType, 'mapMissingTo');
    const fallback = constant(expression.defaultValue, dataType, 'defaultValue');
    return {
      get: (row) => {
        const c = cond(row);
        if (c === null) return whenMissing ?? fallback;
        const value = c === true || (typeof c === 'number' && c !== 0) ? then(row) : otherwise === undefined ? null : otherwise(row);
        return value ?? fallback;
      },
      dataType,
      optype: optypeOf(dataType),
    };
  }

  const builtin = builtins[name];
  if (builtin === undefined) throw new PmmlError(`function '${name}' is not supported`, at);
  arity(builtin.minArgs, builtin.maxArgs);
  checkArguments(name, builtin.args, args, at);
  const dataType = typeof builtin.result === 'string' ? builtin.result : builtin.result(args);
  const whenMissing = constant(expression.mapMissingTo, dataType, 'mapMissingTo');
  const fallback = constant(expression.defaultValue, dataType, 'defaultValue');
  const onMissing = whenMissing ?? fallback;
  const { invalidValueTreatment } = expression;
  const finish = (value: Value): Value => {
    if (value === null) return fallback;
    if (typeof value === 'number' && !Number.isFinite(value)) {
      if (invalidValueTreatment === 'asIs') return value;
      if (invalidValueTreatment === 'asMissing') return fallback;
      throw new PmmlRowError(`function '${name}' gave ${value}, which is not a valid result (invalidValueTreatment="returnInvalid")`);
    }
    return value;
  };
  const impl = builtin.impl;
  // A compiled Apply never re-enters itself (fields form a DAG), so one scratch array serves.
  const scratch = new Array<PresentValue>(getters.length);
  if (getters.length === 1) {
    const g0 = getters[0] as Getter;
    return {
      get: (row) => {
        const x = g0(row);
        if (x === null) return onMissing;
        scratch[0] = x;
        return finish(impl(scratch));
      },
      dataType,
      optype: optypeOf(dataType),
    };
  }
  return {
    get: (row) => {
      for (let i = 0; i < getters.length; i++) {
        const x = (getters[i] as Getter)(row);
        if (x === null) return onMissing;
        scratch[i] = x;
      }
      return finish(impl(scratch));
    },
    dataType,
    optype: optypeOf(dataType),
  };
}

function resultOfBranches(args: readonly CompiledExpression[]): DataType {
  const [, then, otherwise] = args;
  if (then === undefined) return 'double';
  if (otherwise === undefined || otherwise.dataType === then.dataType) return then.dataType;
  return isNumericType(then.dataType) && isNumericType(otherwise.dataType) ? 'double' : 'string';
}

function checkArguments(name: string, kind: Builtin['args'], args: readonly CompiledExpression[], path: string): void {
  const bad = (i: number, wanted: string): never => {
    throw new PmmlError(`function '${name}' needs ${wanted} arguments, but argument ${i + 1} is ${args[i]?.dataType}`, path);
  };
  args.forEach((arg, i) => {
    const numeric = isNumericType(arg.dataType);
    if (kind === 'numeric' && !numeric) bad(i, 'numeric');
    if (kind === 'boolean' && arg.dataType !== 'boolean') bad(i, 'boolean');
    if (kind === 'string' && arg.dataType !== 'string') bad(i, 'string');
    if (kind === 'comparable' && numeric !== isNumericType(args[0]?.dataType ?? 'double')) bad(i, `${args[0]?.dataType} (like the first)`);
  });
}
