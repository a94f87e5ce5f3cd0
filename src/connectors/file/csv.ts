/**
 * CSV with a header row (RFC 4180 quoting). Columns map to the schema's top-level fields by
 * name; a column no field has is ignored, a field no column has takes its default (or the
 * record is rejected). Cells convert by the field's type: numbers, `true`/`false`, bytes as
 * base64, arrays/maps/records as JSON text. An empty cell is null for a nullable field (`""`,
 * quoted, is the empty string), the empty string for a string field, and missing otherwise.
 */
import type avro from 'avsc';
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { fromJson, toJson } from '../json.js';
import { tooLarge } from './jsonl.js';
import { parseCsvRecords, type Cell } from './csv-records.js';
import { countLines, lineWhere, type DecodedUnit, type DecoderOptions, type FileDecoder, type FileFormat, type FilePosition } from './format.js';

const NEWLINE = 10;

class CsvDecoder<T> implements FileDecoder<T> {
  private skipping = false;
  private readonly fields: readonly (avro.types.Field | undefined)[];

  constructor(
    private readonly schema: Schema<T>,
    private readonly columns: readonly string[],
    readonly start: FilePosition,
    private readonly options: DecoderOptions,
  ) {
    const byName = new Map((schema.type as avro.types.RecordType).fields.map((f) => [f.name, f]));
    this.fields = columns.map((c) => byName.get(c));
  }

  decode(bytes: Buffer, from: FilePosition, final: boolean, limit = Infinity) {
    const { file, maxUnitSize, csvDelimiter } = this.options;
    const at = (offset: number, line: number): FilePosition => ({ offset: from.offset + offset, ordinal: line, within: 0 });
    const units: DecodedUnit<T>[] = [];
    let pos = 0;
    let line = from.ordinal;
    if (this.skipping) {
      const newline = bytes.indexOf(NEWLINE);
      if (newline < 0) return { units, end: at(bytes.length, line) };
      this.skipping = false;
      pos = newline + 1;
      line += 1;
    }
    const { records, end } = parseCsvRecords(bytes, pos, csvDelimiter.charCodeAt(0), final, limit);
    if (records.length === 0 && pos === 0 && bytes.length > maxUnitSize && !final) {
      // No record end in a window larger than the limit: reject the record, skip to the next line end.
      this.skipping = true;
      const error = tooLarge(lineWhere(file, line), this.schema, `at least ${bytes.length}`, maxUnitSize);
      units.push({ ok: false, error, end: at(bytes.length, line), count: 1 });
      return { units, end: at(bytes.length, line) };
    }
    let counted = pos;
    for (const record of records) {
      line += countLines(bytes, counted, record.start);
      const where = lineWhere(file, line);
      line += countLines(bytes, record.start, record.end);
      counted = record.end;
      const next = at(record.end, line);
      if (record.error) units.push({ ok: false, error: undecodable(where, this.schema, record.error), end: next, count: 1 });
      else if (record.end - record.start > maxUnitSize)
        units.push({ ok: false, error: tooLarge(where, this.schema, record.end - record.start, maxUnitSize), end: next, count: 1 });
      else units.push(this.toUnit(record.cells, where, next));
    }
    return { units, end: at(end, line + countLines(bytes, counted, end)) };
  }

  private toUnit(cells: readonly Cell[], where: string, end: FilePosition): DecodedUnit<T> {
    if (cells.length !== this.columns.length) {
      const message = `has ${cells.length} values; the header has ${this.columns.length} columns`;
      return { ok: false, error: new SluiceError('SLUICE_ERR_RECORD_INVALID', { where, schema: this.schema.name, message }), end, count: 1 };
    }
    const json: Record<string, unknown> = {};
    this.fields.forEach((field, i) => {
      if (field) json[field.name] = cellValue(field.type, cells[i] as Cell);
    });
    try {
      return { ok: true, value: fromJson(this.schema, json, where), end };
    } catch (error) {
      return { ok: false, error: error as Error, end, count: 1 };
    }
  }
}

function undecodable(where: string, schema: Schema, message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: schema.name, message: `not CSV: ${message}` });
}

const integer = /^[+-]?\d+$/;
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?Infinity$|^NaN$/;

/** The JSON value a cell stands for, given the field's type; text it cannot convert is left for fromJson to report. */
export function cellValue(type: avro.Type, cell: Cell): unknown {
  switch (type.typeName) {
    case 'null':
      return cell === null ? null : cell;
    case 'string':
      return cell ?? '';
    case 'int':
    case 'long':
      return cell === null ? undefined : integer.test(cell) ? Number(cell) : cell;
    case 'float':
    case 'double':
      return cell === null ? undefined : decimal.test(cell.trim()) ? Number(cell) : cell;
    case 'boolean':
      return cell === null ? undefined : /^true$/i.test(cell) ? true : /^false$/i.test(cell) ? false : cell;
    case 'enum':
    case 'bytes':
    case 'fixed':
      return cell ?? undefined;
    case 'array':
    case 'map':
    case 'record':
    case 'error':
      if (cell === null) return undefined;
      try {
        return JSON.parse(cell) as unknown;
      } catch {
        return cell;
      }
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches = (type as avro.types.UnwrappedUnionType).types;
      if (cell === null) return branches.some((b) => b.typeName === 'null') ? null : undefined;
      // Text-like branches take anything: try the others first.
      const textLike = (b: avro.Type) => ['string', 'enum', 'bytes', 'fixed'].includes(b.typeName);
      for (const branch of [...branches.filter((b) => !textLike(b)), ...branches.filter(textLike)]) {
        if (branch.typeName === 'null') continue;
        const value = cellValue(branch, cell);
        if (value !== cell || textLike(branch)) return value;
      }
      return cell;
    }
    default:
      return cellValue((type as avro.types.LogicalType).underlyingType, cell);
  }
}

/** The cell text of a field's value, the inverse of {@link cellValue}; `null` writes an unquoted empty cell. */
function cellText(type: avro.Type, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (type.typeName === 'union:wrapped') {
    const [branch, inner] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    const branchType = (type as avro.types.WrappedUnionType).types.find((t) => t.branchName === branch);
    return branchType ? cellText(branchType, inner) : null;
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return JSON.stringify(toJson(value));
}

/** RFC 4180 quoting, and `""` for the empty string (an unquoted empty cell is null). */
function quoteCell(text: string | null, delimiter: string): string {
  if (text === null) return '';
  return text === '' || /["\r\n]/.test(text) || text.includes(delimiter) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csv: FileFormat = {
  extension: 'csv',
  decoder<T>(schema: Schema<T>, head: Buffer, final: boolean, options: DecoderOptions) {
    const where = `${lineWhere(options.file, 1)} (header)`;
    const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    const { records, end } = parseCsvRecords(head, bom, options.csvDelimiter.charCodeAt(0), final, 1);
    const [header] = records;
    if (!header) {
      if (head.length > options.maxUnitSize) throw tooLarge(where, schema, `at least ${head.length}`, options.maxUnitSize);
      if (!final || head.length === 0) return undefined;
      throw undecodable(where, schema, 'the header row names no columns');
    }
    if (header.error) throw undecodable(where, schema, header.error);
    const columns = header.cells.map((c) => (c ?? '').trim());
    if (columns.every((c) => c === '')) throw undecodable(where, schema, 'the header row names no columns');
    const repeated = columns.filter((c, i) => c !== '' && columns.indexOf(c) !== i);
    if (repeated.length > 0) throw undecodable(where, schema, `the header repeats column ${[...new Set(repeated)].join(', ')}`);
    return new CsvDecoder(schema, columns, { offset: end, ordinal: 1 + countLines(head, 0, end), within: 0 }, options);
  },
  encoder<T>(schema: Schema<T>, options: { readonly csvDelimiter: string }) {
    const fields = (schema.type as avro.types.RecordType).fields;
    const d = options.csvDelimiter;
    return {
      header: () => Buffer.from(`${fields.map((f) => quoteCell(f.name, d)).join(d)}\n`),
      encode: (values: readonly T[]) =>
        Buffer.from(
          values.map((value) => `${fields.map((f) => quoteCell(cellText(f.type, (value as Record<string, unknown>)[f.name]), d)).join(d)}\n`).join(''),
        ),
    };
  },
};
