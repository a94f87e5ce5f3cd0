/**
 * Field values at run time. A value is a JS number (integer, float and double fields), string
 * or boolean, already converted to its field's dataType; `null` is a missing value.
 */
import type { DataType } from './document.js';

export type Value = number | string | boolean | null;
export type PresentValue = Exclude<Value, null>;

/** What a conversion returns when the value does not fit the type (`"abc"` as a double). */
export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export function isNumericType(dataType: DataType): boolean {
  return dataType === 'integer' || dataType === 'float' || dataType === 'double';
}

/**
 * Converts a present value to `dataType`. Floats are rounded to single precision, as a float
 * field holds them (so a float field compares its values and constants at the same precision).
 */
export function convert(value: PresentValue, dataType: DataType): PresentValue | Invalid {
  switch (dataType) {
    case 'string':
      return typeof value === 'string' ? value : String(value);
    case 'double':
    case 'float':
    case 'integer': {
      const n = typeof value === 'number' ? value : typeof value === 'boolean' ? (value ? 1 : 0) : parseNumeric(value);
      if (!Number.isFinite(n)) return INVALID;
      if (dataType === 'integer') return Number.isInteger(n) ? n : INVALID;
      return dataType === 'float' ? Math.fround(n) : n;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : INVALID;
      const text = value.trim().toLowerCase();
      return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : INVALID;
    }
  }
}

function parseNumeric(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') return NaN;
  if (/^[+]?INF$/i.test(trimmed)) return Infinity;
  if (/^-INF$/i.test(trimmed)) return -Infinity;
  return Number(trimmed);
}

/** The dataType a constant without one has: double when it reads as a number, else string. */
export function inferDataType(text: string): DataType {
  return Number.isFinite(parseNumeric(text)) ? 'double' : 'string';
}

/** A stable key for a present value: equal values of one dataType have equal keys. */
export function keyOf(value: PresentValue): string {
  return typeof value === 'string' ? value : String(value);
}

/** For messages: strings quoted, missing spelled out. */
export function describe(value: Value): string {
  return value === null ? 'a missing value' : typeof value === 'string' ? `'${value}'` : String(value);
}
