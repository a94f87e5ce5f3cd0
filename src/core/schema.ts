/**
 * Avro schemas are the data contract between streamlets. A schema is written once, as a
 * `const` literal; its TypeScript type is derived from it ({@link AvroValue}) and its codec
 * (avsc) is built from it, so the two can never drift.
 */
import avro from 'avsc';
import { SluiceError } from './errors.js';

type Primitive = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';

interface PrimitiveValue {
  null: null;
  boolean: boolean;
  int: number;
  long: number;
  float: number;
  double: number;
  bytes: Buffer;
  string: string;
}

export interface AvroField {
  readonly name: string;
  readonly type: AvroSchema;
  readonly default?: unknown;
  readonly doc?: string;
}

export type AvroSchema =
  | Primitive
  | readonly AvroSchema[]
  | { readonly type: Primitive; readonly logicalType?: string }
  | { readonly type: 'record'; readonly name: string; readonly namespace?: string; readonly doc?: string; readonly fields: readonly AvroField[] }
  | { readonly type: 'enum'; readonly name: string; readonly namespace?: string; readonly symbols: readonly string[]; readonly default?: string }
  | { readonly type: 'array'; readonly items: AvroSchema }
  | { readonly type: 'map'; readonly values: AvroSchema }
  | { readonly type: 'fixed'; readonly name: string; readonly size: number };

type FieldsValue<F extends readonly AvroField[]> = {
  -readonly [K in F[number] as K['name']]: AvroValue<K['type']>;
};

/** The TypeScript type of values of an Avro schema literal (longs are JS numbers). */
export type AvroValue<S> = S extends Primitive
  ? PrimitiveValue[S]
  : S extends readonly (infer U)[]
    ? AvroValue<U>
    : S extends { readonly type: 'record'; readonly fields: infer F extends readonly AvroField[] }
      ? FieldsValue<F>
      : S extends { readonly type: 'enum'; readonly symbols: readonly (infer E)[] }
        ? E
        : S extends { readonly type: 'array'; readonly items: infer I }
          ? AvroValue<I>[]
          : S extends { readonly type: 'map'; readonly values: infer V }
            ? Record<string, AvroValue<V>>
            : S extends { readonly type: 'fixed' }
              ? Buffer
              : S extends { readonly type: infer P extends Primitive }
                ? PrimitiveValue[P]
                : never;

/** A named Avro schema with its codec. `T` is derived from the literal by {@link defineSchema}. */
export interface Schema<T = unknown> {
  /** Full name of the record (namespace.name), used in messages and compatibility checks. */
  readonly name: string;
  readonly definition: AvroSchema;
  readonly type: avro.Type;
  /** Encodes a valid value; throws SLUICE_ERR_RECORD_INVALID naming `where` and every bad field. */
  encode(value: T, where?: string): Buffer;
  /** Decodes bytes written with this schema; throws SLUICE_ERR_RECORD_UNDECODABLE naming `where`. */
  decode(bytes: Buffer, where: string): T;
  /** A decoder for bytes written with `writer`, resolved by Avro's rules (the blueprint checked they are compatible). */
  decoderFor(writer: Schema<unknown>): (bytes: Buffer, where: string) => T;
  /** Lists why `value` does not match, one entry per bad field path; empty when it does. */
  problems(value: unknown): string[];
  /** Throws SLUICE_ERR_RECORD_INVALID naming `where` and every bad field unless `value` matches. */
  validate(value: unknown, where: string): void;
}

export function defineSchema<const S extends AvroSchema>(definition: S): Schema<AvroValue<S>> {
  return buildSchema(definition) as Schema<AvroValue<S>>;
}

function buildSchema(definition: AvroSchema): Schema<unknown> {
  const type = avro.Type.forSchema(definition as avro.Schema);
  const name = type.name ?? type.typeName;
  return Object.freeze({
    name,
    definition,
    type,
    encode(value: unknown, where = 'encode'): Buffer {
      validate(type, name, value, where);
      return type.toBuffer(value);
    },
    validate: (value: unknown, where: string) => validate(type, name, value, where),
    decode: decoder(type, name, undefined),
    decoderFor(writer: Schema<unknown>) {
      return decoder(type, name, writer.type === type ? undefined : type.createResolver(writer.type));
    },
    problems: (value: unknown) => schemaProblems(type, value),
  });
}

function decoder(type: avro.Type, name: string, resolver: avro.Resolver | undefined) {
  return (bytes: Buffer, where: string): unknown => {
    try {
      return type.fromBuffer(bytes, resolver);
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: name, message: (err as Error).message }, { cause: err });
    }
  };
}

function validate(type: avro.Type, name: string, value: unknown, where: string): void {
  // The plain check is fast; the problem list is built only for a value that fails it.
  if (type.isValid(value)) return;
  throw new SluiceError('SLUICE_ERR_RECORD_INVALID', { where, schema: name, message: schemaProblems(type, value).join('; ') });
}

function schemaProblems(type: avro.Type, value: unknown): string[] {
  const found: string[] = [];
  type.isValid(value, {
    errorHook(path: string[], bad: unknown, badType: avro.Type) {
      const at = path.length > 0 ? path.join('.') : '(record)';
      found.push(`${at}: ${describe(bad)} is not a valid ${badType.branchName ?? badType.typeName}`);
    },
  });
  return found;
}

/**
 * Why records written with `writer` cannot be read with `reader`, following Avro's schema
 * resolution rules (avsc's resolver); `undefined` when they can.
 */
export function incompatibility(writer: Schema, reader: Schema): string | undefined {
  try {
    reader.type.createResolver(writer.type);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'a missing value';
  if (Buffer.isBuffer(value)) return `bytes(${value.length})`;
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
