/**
 * How a connector's messages carry records: one record per message, as JSON text or as Avro
 * binary written with the streamlet's schema. Chosen per connector by its `format` parameter.
 */
import { config } from '../core/config.js';
import type { Schema } from '../core/schema.js';
import { parseJson, stringifyJson } from './json.js';

export const payloadFormats = ['json', 'avro'] as const;
export type PayloadFormat = (typeof payloadFormats)[number];

/** The `format` config parameter every message connector declares. */
export const formatParameter = config.oneOf({
  description: `How each message carries a record: ${payloadFormats.join(' or ')} (Avro binary with the streamlet's schema)`,
  values: payloadFormats,
  default: 'json',
});

export interface PayloadCodec<T> {
  /** Throws SLUICE_ERR_RECORD_UNDECODABLE or SLUICE_ERR_RECORD_INVALID naming `where` and what is wrong. */
  decode(bytes: Buffer, where: string): T;
  encode(value: T): Buffer;
}

export function payloadCodec<T>(schema: Schema<T>, format: PayloadFormat): PayloadCodec<T> {
  if (format === 'avro') {
    return {
      decode: (bytes, where) => {
        const value = schema.decode(bytes, where);
        schema.validate(value, where);
        return value;
      },
      encode: (value) => schema.encode(value),
    };
  }
  return {
    decode: (bytes, where) => parseJson(schema, bytes.toString('utf8'), where),
    encode: (value) => Buffer.from(stringifyJson(value)),
  };
}
