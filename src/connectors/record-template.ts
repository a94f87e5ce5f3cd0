/**
 * Destinations written with record fields, such as the MQTT topic `alerts/{machine}` or the AMQP
 * routing key `score.{region}`: each `{path}` is replaced by the value of that field (dotted paths
 * reach into nested records). The placeholders are checked against the schema once, at start, so
 * a typo is a config error naming the key, not a stream of misrouted messages.
 */
import type avro from 'avsc';
import { SluiceError } from '../core/errors.js';
import type { Schema } from '../core/schema.js';

/** Field types whose values read naturally in a topic or routing key. */
const printable = new Set(['string', 'int', 'long', 'float', 'double', 'boolean', 'enum']);

/**
 * Compiles `template` for records of `schema`; throws SLUICE_ERR_CONFIG_INVALID naming `key`
 * when a placeholder names no field, a field that cannot be printed, or is left unclosed.
 */
export function recordTemplate<T>(template: string, schema: Schema<T>, key: string): (record: T) => string {
  const parts = template.split(/(\{[^{}]*\})/);
  const fail = (message: string): never => {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: key, message: `${JSON.stringify(template)}: ${message}` });
  };
  const pieces = parts.map((part): string | readonly string[] => {
    if (!part.startsWith('{')) {
      if (/[{}]/.test(part)) fail('has an unmatched brace');
      return part;
    }
    const path = part.slice(1, -1).trim().split('.');
    checkPath(schema.type, path, schema.name, fail);
    return path;
  });
  if (pieces.every((piece) => typeof piece === 'string')) return () => template;
  return (record) => pieces.map((piece) => (typeof piece === 'string' ? piece : String(read(record, piece)))).join('');
}

function checkPath(type: avro.Type, path: readonly string[], schemaName: string, fail: (message: string) => never): void {
  let current = type;
  for (const [i, name] of path.entries()) {
    const fields = current.typeName === 'record' ? (current as avro.types.RecordType).fields : [];
    const field = fields.find((f) => f.name === name);
    const at = path.slice(0, i + 1).join('.');
    if (!field) fail(`{${at}} names no field of ${current.name ?? schemaName} (fields: ${fields.map((f) => f.name).join(', ') || 'none'})`);
    current = (field as avro.types.Field).type;
    if (i < path.length - 1 && current.typeName !== 'record') fail(`{${at}} is a ${current.typeName}, not a record with fields`);
  }
  if (!printable.has(current.typeName)) fail(`{${path.join('.')}} is a ${current.typeName}; only ${[...printable].join(', ')} fields can be written into it`);
}

function read(record: unknown, path: readonly string[]): unknown {
  let value = record;
  for (const name of path) value = (value as Record<string, unknown>)[name];
  return value;
}
