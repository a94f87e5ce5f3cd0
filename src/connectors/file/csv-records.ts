/**
 * CSV syntax (RFC 4180): records end at `\n` (a `\r` before it is dropped) outside quotes; a
 * field that starts with `"` is quoted, `""` inside it is one quote. An unquoted empty cell is
 * told apart from `""` (null and the empty string). Byte offsets come with every record, so a
 * reader can stop after any record and resume there. A general-purpose parser (csv-parse) can
 * say whether a cell was quoted only through a context object built per cell, 17× slower here.
 */
const QUOTE = 34;
const NEWLINE = 10;
const CR = 13;

/** A cell's text; `null` for an unquoted empty cell. */
export type Cell = string | null;

export interface CsvRecord {
  readonly cells: Cell[];
  /** Why the record is malformed (it still has a start and an end, so reading goes on after it). */
  readonly error: string | undefined;
  /** Offset of the record's first byte (past blank lines before it). */
  readonly start: number;
  /** Offset after its `\n`. */
  readonly end: number;
}

/**
 * The complete records in `bytes[from, ...)`, and the offset after the last one. `final`: the
 * bytes end the file, so a last record without `\n` counts too.
 */
export function parseCsvRecords(bytes: Buffer, from: number, delimiter: number, final: boolean, limit = Infinity): { records: CsvRecord[]; end: number } {
  const records: CsvRecord[] = [];
  const length = bytes.length;
  let end = from;
  let start = from;
  let cells: Cell[] = [];
  let fieldStart = from;
  let quoted = false; // this field started with a quote
  let inQuotes = false;
  let closedAt = -1; // where this field's closing quote is
  let escapes = false; // this field holds `""`
  let error: string | undefined;

  const cell = (stop: number): Cell => {
    if (quoted) {
      const text = bytes.toString('utf8', fieldStart + 1, closedAt);
      return escapes ? text.replaceAll('""', '"') : text;
    }
    return stop === fieldStart ? null : bytes.toString('utf8', fieldStart, stop);
  };
  const nextField = (at: number) => {
    fieldStart = at;
    quoted = false;
    closedAt = -1;
    escapes = false;
  };
  const finish = (stop: number, next: number) => {
    cells.push(cell(stop));
    // A blank line is no record.
    if (!(cells.length === 1 && cells[0] === null && !error)) records.push({ cells, error, start, end: next });
    end = next;
    start = next;
    cells = [];
    error = undefined;
    nextField(next);
  };

  for (let i = from; i < length && records.length < limit; i++) {
    const c = bytes[i];
    if (inQuotes) {
      if (c !== QUOTE) continue;
      if (i + 1 === length && !final) break; // a closing quote, or half of `""`: wait for more
      if (bytes[i + 1] === QUOTE) {
        escapes = true;
        i++;
      } else {
        inQuotes = false;
        closedAt = i;
      }
    } else if (c === QUOTE && i === fieldStart) {
      quoted = true;
      inQuotes = true;
    } else if (c === delimiter) {
      cells.push(cell(i));
      nextField(i + 1);
    } else if (c === NEWLINE) {
      finish(i > fieldStart && bytes[i - 1] === CR && !quoted ? i - 1 : i, i + 1);
    } else if (closedAt >= 0 && !(c === CR && bytes[i + 1] === NEWLINE)) {
      error ??= `text after the closing quote of field ${cells.length + 1}`;
    }
  }
  if (final && end < length && records.length < limit) {
    if (inQuotes) {
      error ??= `the quoted field ${cells.length + 1} is not closed`;
      closedAt = length;
    }
    finish(length, length);
  }
  return { records, end };
}
