/**
 * Records as plain JSON, the way people write them by hand or other systems send them: fields by
 * name, a missing field takes its schema default, `bytes` and `fixed` as base64 strings, a union
 * value either bare (`"x"`) or in Avro's tagged form (`{"string": "x"}`). Every problem names the
 * field path, so a rejected record says exactly what to fix.
 */
import type avro from 'avsc';
import { SluiceError } from '../core/errors.js';
import type { Schema } from '../core/schema.js';

/** Converts parsed JSON to a value of `schema`; throws SLUICE_ERR_RECORD_INVALID listing every bad field. */
export function fromJson<T>(schema: Schema<T>, json: unknown, where: string): T {
  const problems: string[] = [];
  const value = convert(schema.type, json, '', problems);
  if (problems.length > 0) throw new SluiceError('SLUICE_ERR_RECORD_INVALID', { where, schema: schema.name, message: problems.join('; ') });
  // The conversion checked structure; the schema's own check catches what it cannot (ranges of int, enum symbols).
  schema.validate(value, where);
  return value as T;
}

/** Parses JSON text into a value of `schema`; a syntax error is SLUICE_ERR_RECORD_UNDECODABLE. */
export function parseJson<T>(schema: Schema<T>, text: string, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: schema.name, message: `not JSON: ${(err as Error).message}` }, { cause: err });
  }
  return fromJson(schema, json, where);
}

/** The JSON form of a value of `schema` (bytes as base64), which {@link fromJson} reads back. */
export function toJson(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  return value;
}

export function stringifyJson(value: unknown): string {
  return JSON.stringify(toJson(value));
}

const at = (path: string) => path || '(record)';
const join = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

function describe(value: unknown): string {
  if (value === undefined) return 'a missing value';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function convert(type: avro.Type, json: unknown, path: string, problems: string[]): unknown {
  const bad = (expected: string) => {
    problems.push(`${at(path)}: ${describe(json)} is not ${expected}`);
    return undefined;
  };
  switch (type.typeName) {
    case 'null':
      return json === null ? null : bad('null');
    case 'boolean':
      return typeof json === 'boolean' ? json : bad('a boolean');
    case 'int':
    case 'long':
      return typeof json === 'number' && Number.isInteger(json) ? json : bad(`an integer (${type.typeName})`);
    case 'float':
    case 'double':
      return typeof json === 'number' ? json : bad(`a number (${type.typeName})`);
    case 'string':
      return typeof json === 'string' ? json : bad('a string');
    case 'bytes':
    case 'fixed':
      return typeof json === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(json) ? Buffer.from(json, 'base64') : bad('base64 bytes');
    case 'enum': {
      const symbols = (type as avro.types.EnumType).symbols;
      return typeof json === 'string' && symbols.includes(json) ? json : bad(`one of ${symbols.join(', ')}`);
    }
    case 'array': {
      if (!Array.isArray(json)) return bad('an array');
      const items = (type as avro.types.ArrayType).itemsType;
      return json.map((item, i) => convert(items, item, join(path, i), problems));
    }
    case 'map': {
      if (!isObject(json)) return bad('an object (map)');
      const values = (type as avro.types.MapType).valuesType;
      return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, convert(values, v, join(path, k), problems)]));
    }
    case 'record':
    case 'error': {
      if (!isObject(json)) return bad('an object');
      const out: Record<string, unknown> = {};
      for (const field of (type as avro.types.RecordType).fields) {
        const given = json[field.name];
        if (given === undefined && field.defaultValue() !== undefined) out[field.name] = field.defaultValue();
        else if (given === undefined) problems.push(`${join(path, field.name)}: missing (${field.type.branchName ?? field.type.typeName}, no default)`);
        else out[field.name] = convert(field.type, given, join(path, field.name), problems);
      }
      return out;
    }
    case 'union:unwrapped':
    case 'union:wrapped':
      return convertUnion(type as avro.types.UnwrappedUnionType | avro.types.WrappedUnionType, json, path, problems);
    default:
      // Logical types convert as their underlying type.
      return convert((type as avro.types.LogicalType).underlyingType, json, path, problems);
  }
}

function convertUnion(type: avro.types.UnwrappedUnionType | avro.types.WrappedUnionType, json: unknown, path: string, problems: string[]): unknown {
  // avsc wraps the values of unions it cannot tell apart by JS type: {"branch": value}.
  const wrap = (branch: avro.Type, value: unknown) =>
    type.typeName === 'union:wrapped' && branch.typeName !== 'null' ? { [branch.branchName as string]: value } : value;
  // Avro's tagged form, {"branch": value}, names the branch outright.
  if (isObject(json)) {
    const keys = Object.keys(json);
    const tagged = keys.length === 1 ? type.types.find((t) => t.branchName === keys[0]) : undefined;
    if (tagged) return wrap(tagged, convert(tagged, json[keys[0]!], path, problems));
  }
  for (const branch of type.types) {
    const attempt: string[] = [];
    const value = convert(branch, json, path, attempt);
    if (attempt.length === 0) return wrap(branch, value);
  }
  problems.push(`${at(path)}: ${describe(json)} matches none of ${type.types.map((t) => t.branchName).join(', ')}`);
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
