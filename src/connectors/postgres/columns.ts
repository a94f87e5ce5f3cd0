/**
 * How a record becomes a table row: each top-level field is one column (of the same name unless
 * mapped), typed from its Avro type. Scalars keep their type (long as bigint, bytes as bytea),
 * nested records, arrays, maps and unions other than "null or one type" are stored as jsonb.
 */
import type avro from 'avsc';
import type { Schema } from '../../core/schema.js';
import { stringifyJson } from '../json.js';

export interface ColumnPlan {
  /** The record field the column is written from. */
  readonly field: string;
  readonly column: string;
  /** The PostgreSQL type Sluice would create the column with. */
  readonly type: string;
  readonly nullable: boolean;
  /** The field's value as a query parameter. */
  readonly toParameter: (value: unknown) => unknown;
}

const scalarTypes: Readonly<Record<string, string>> = {
  boolean: 'boolean',
  int: 'integer',
  long: 'bigint',
  float: 'real',
  double: 'double precision',
  string: 'text',
  bytes: 'bytea',
  fixed: 'bytea',
  enum: 'text',
};

const asIs = (value: unknown) => value;
const asJson = (value: unknown) => (value === null ? null : stringifyJson(value));

/** The columns of `schema`'s record type; `columns` maps field names to other column names. */
export function planColumns(schema: Schema, columns: Readonly<Record<string, string>> = {}): ColumnPlan[] {
  const record = schema.type as avro.types.RecordType;
  if (record.typeName !== 'record') throw new Error(`schema ${schema.name} is not a record: a table row needs one`);
  const fields = new Set(record.fields.map((f) => f.name));
  for (const mapped of Object.keys(columns)) {
    if (!fields.has(mapped)) throw new Error(`column mapping names field ${mapped}, which ${schema.name} does not have (fields: ${[...fields].join(', ')})`);
  }
  return record.fields.map((field) => {
    const { type, nullable } = columnType(field.type);
    return Object.freeze({ field: field.name, column: columns[field.name] ?? field.name, type, nullable, toParameter: type === 'jsonb' ? asJson : asIs });
  });
}

function columnType(type: avro.Type): { type: string; nullable: boolean } {
  if (type.typeName === 'union:unwrapped' || type.typeName === 'union:wrapped') {
    const branches = (type as avro.types.UnwrappedUnionType).types;
    const others = branches.filter((t) => t.typeName !== 'null');
    const nullable = others.length < branches.length;
    if (others.length === 1 && type.typeName === 'union:unwrapped') return { type: columnType(others[0]!).type, nullable };
    return { type: 'jsonb', nullable };
  }
  // A logical type is stored as its underlying type.
  const underlying = 'underlyingType' in type ? (type as avro.types.LogicalType).underlyingType : type;
  return { type: scalarTypes[underlying.typeName] ?? 'jsonb', nullable: underlying.typeName === 'null' };
}
