/**
 * Records in an HTTP request body, by content type: one JSON object or a JSON array of them, JSON
 * lines, one Avro binary record, or an Avro object container file. A batch is all or nothing: if
 * any record is bad, none is taken, and the error names every bad record (its index, or its
 * line) with the field paths that are wrong.
 */
import { isSluiceError, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { fromJson, parseJson } from '../json.js';
import { containerReader, readBlock, readContainerHeader } from '../avro-container.js';

export type BodyFormat = 'json' | 'ndjson' | 'avro' | 'avro-container';

const mediaTypes: Readonly<Record<string, BodyFormat>> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/x-jsonlines': 'ndjson',
  'application/avro': 'avro',
  'avro/binary': 'avro',
  'application/vnd.apache.avro+binary': 'avro',
  'application/vnd.apache.avro+container': 'avro-container',
  'application/avro+container': 'avro-container',
};

export const supportedMediaTypes = Object.keys(mediaTypes);

/** The format of a `Content-Type` (parameters such as `charset` ignored; any `+json` type is JSON); throws 415. */
export function bodyFormatOf(contentType: string | undefined, where: string): BodyFormat {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const format = mediaTypes[mediaType] ?? (mediaType.endsWith('+json') ? 'json' : undefined);
  if (format) return format;
  throw new SluiceError('SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE', { where, contentType: mediaType || '(none)', supported: supportedMediaTypes.join(', ') });
}

export interface ReceivedRecords<T> {
  readonly records: T[];
  /** The body was a batch (array, lines, container), so an answer is a list too. */
  readonly batch: boolean;
}

export function decodeBody<T>(schema: Schema<T>, format: BodyFormat, body: Buffer, where: string): ReceivedRecords<T> {
  switch (format) {
    case 'json':
      return decodeJson(schema, body, where);
    case 'ndjson':
      return { records: decodeLines(schema, body, where), batch: true };
    case 'avro': {
      const value = schema.decode(body, where);
      schema.validate(value, where);
      return { records: [value], batch: false };
    }
    case 'avro-container':
      return { records: decodeContainer(schema, body, where), batch: true };
  }
}

function decodeJson<T>(schema: Schema<T>, body: Buffer, where: string): ReceivedRecords<T> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: schema.name, message: `not JSON: ${(err as Error).message}` }, { cause: err });
  }
  if (!Array.isArray(json)) return { records: [fromJson(schema, json, where)], batch: false };
  const batch = new Batch(schema, where);
  json.forEach((item, i) => batch.add(`[${i}]`, () => fromJson(schema, item, `${where} [${i}]`)));
  return { records: batch.records(), batch: true };
}

function decodeLines<T>(schema: Schema<T>, body: Buffer, where: string): T[] {
  const batch = new Batch(schema, where);
  body
    .toString('utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() !== '') batch.add(`line ${i + 1}`, () => parseJson(schema, line, `${where} line ${i + 1}`));
    });
  return batch.records();
}

function decodeContainer<T>(schema: Schema<T>, body: Buffer, where: string): T[] {
  const cutShort = (what: string) =>
    new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: schema.name, message: `the Avro container ends inside ${what}` });
  const header = readContainerHeader(body, where, schema.name);
  if (!header) throw cutShort('its header');
  const read = containerReader(schema, header, where);
  const records: T[] = [];
  for (let pos = header.size; pos < body.length;) {
    const block = readBlock(body, pos, header, Infinity);
    if (block.kind === 'incomplete') throw cutShort(`the block at byte ${pos}`);
    if (block.kind !== 'block') {
      const message = block.kind === 'corrupt' ? block.message : 'oversized block';
      throw new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: schema.name, message: `block at byte ${pos}: ${message}` });
    }
    for (let offset = 0, i = 0; i < block.count; i++) {
      let decoded: { value: T; offset: number };
      try {
        decoded = read(block.data, offset);
      } catch (err) {
        throw new SluiceError(
          'SLUICE_ERR_RECORD_UNDECODABLE',
          { where, schema: schema.name, message: `block at byte ${pos}, record ${i + 1}: ${(err as Error).message}` },
          { cause: err },
        );
      }
      if (decoded.offset < 0) throw cutShort(`record ${i + 1} of the block at byte ${pos}`);
      offset = decoded.offset;
      records.push(decoded.value);
    }
    pos = block.end;
  }
  return records;
}

/** Decodes every record of a batch, collecting what is wrong with each; rejects the whole batch if any is bad. */
class Batch<T> {
  private readonly good: T[] = [];
  private readonly bad: { label: string; error: unknown }[] = [];
  private total = 0;

  constructor(
    private readonly schema: Schema<T>,
    private readonly where: string,
  ) {}

  add(label: string, decode: () => T): void {
    this.total += 1;
    try {
      this.good.push(decode());
    } catch (error) {
      this.bad.push({ label, error });
    }
  }

  records(): T[] {
    const first = this.bad[0];
    if (!first) return this.good;
    const shown = this.bad
      .slice(0, 10)
      .map(({ label, error }) => `${label} ${isSluiceError(error) && 'message' in error.params ? String(error.params.message) : String(error)}`);
    const more = this.bad.length > shown.length ? ` | and ${this.bad.length - shown.length} more` : '';
    const message = `${this.bad.length} of ${this.total} records are bad, so the batch was rejected whole: ${shown.join(' | ')}${more}`;
    const code = isSluiceError(first.error, 'SLUICE_ERR_RECORD_UNDECODABLE') ? 'SLUICE_ERR_RECORD_UNDECODABLE' : 'SLUICE_ERR_RECORD_INVALID';
    throw new SluiceError(code, { where: this.where, schema: this.schema.name, message });
  }
}
