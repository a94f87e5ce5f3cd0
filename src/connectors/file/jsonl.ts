/**
 * JSON lines: one record per line, as plain JSON (src/connectors/json.ts: fields by name,
 * defaults fill missing fields, bytes as base64). Blank lines are skipped; a line ends at `\n`
 * (a `\r` before it is dropped). JSON text never holds a raw newline, so the last `\n` of a
 * window is always a record boundary.
 */
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { parseJson, stringifyJson } from '../json.js';
import { lineWhere, startOfFile, type DecodedUnit, type DecoderOptions, type FileDecoder, type FileFormat, type FilePosition } from './format.js';

const NEWLINE = 10;
const CR = 13;

class JsonLinesDecoder<T> implements FileDecoder<T> {
  readonly start = startOfFile;
  /** Inside a line over the size limit, already rejected: skip to its end. */
  private skipping = false;

  constructor(
    private readonly schema: Schema<T>,
    private readonly options: DecoderOptions,
  ) {}

  decode(bytes: Buffer, from: FilePosition, final: boolean, limit = Infinity) {
    const { file, maxUnitSize } = this.options;
    const units: DecodedUnit<T>[] = [];
    let pos = 0;
    let line = from.ordinal;
    const at = (offset: number, nextLine: number): FilePosition => ({ offset: from.offset + offset, ordinal: nextLine, within: 0 });
    if (this.skipping) {
      const newline = bytes.indexOf(NEWLINE);
      if (newline < 0) return { units, end: at(bytes.length, line) };
      this.skipping = false;
      pos = newline + 1;
      line += 1;
    }
    while (units.length < limit) {
      let stop = bytes.indexOf(NEWLINE, pos);
      if (stop < 0 && (!final || pos >= bytes.length)) break;
      const next = stop < 0 ? bytes.length : stop + 1;
      if (stop < 0) stop = bytes.length;
      const end = at(next, line + 1);
      const where = lineWhere(file, line);
      const length = stop - pos;
      if (length > maxUnitSize) {
        units.push({ ok: false, error: tooLarge(where, this.schema, length, maxUnitSize), end, count: 1 });
      } else {
        const text = bytes.toString('utf8', pos, stop > pos && bytes[stop - 1] === CR ? stop - 1 : stop);
        if (text.trim() !== '') {
          try {
            units.push({ ok: true, value: parseJson(this.schema, text, where), end });
          } catch (error) {
            units.push({ ok: false, error: error as Error, end, count: 1 });
          }
        }
      }
      pos = next;
      line += 1;
    }
    // No line end in a window larger than the limit: the line is too large; reject it now and skip the rest of it.
    if (pos === 0 && bytes.length > maxUnitSize && !final) {
      this.skipping = true;
      units.push({
        ok: false,
        error: tooLarge(lineWhere(file, line), this.schema, `at least ${bytes.length}`, maxUnitSize),
        end: at(bytes.length, line),
        count: 1,
      });
      return { units, end: at(bytes.length, line) };
    }
    return { units, end: at(pos, line) };
  }
}

export function tooLarge(where: string, schema: Schema, size: number | string, limit: number): SluiceError {
  return new SluiceError('SLUICE_ERR_RECORD_TOO_LARGE', { where: `${where} (schema ${schema.name})`, size, limit });
}

export const jsonLines: FileFormat = {
  extension: 'jsonl',
  decoder: (schema, _head, _final, options) => new JsonLinesDecoder(schema, options),
  encoder: () => ({
    header: () => Buffer.alloc(0),
    encode: (values) => Buffer.from(values.map((value) => `${stringifyJson(value)}\n`).join('')),
  }),
};
