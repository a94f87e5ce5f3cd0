/**
 * How records sit in a file: JSON lines, CSV with a header row, or an Avro container. A format
 * reads *units* (a line, a CSV record, an Avro record) from a window of bytes and says where the
 * last complete one ends, so a reader can stop and resume at that position, and so a file cut
 * short by a crash can be trimmed back to its last whole record.
 */
import type { Schema } from '../../core/schema.js';

export const fileFormats = ['jsonl', 'csv', 'avro'] as const;
export type FileFormatName = (typeof fileFormats)[number];

/** A place in a file: everything before it has been read. */
export interface FilePosition {
  readonly offset: number;
  /** Line number (text formats) or record number (Avro) of the next unit, from 1: for messages. */
  readonly ordinal: number;
  /** Avro: records of the block at `offset` already read (a block is read whole, resumed inside). */
  readonly within: number;
}

export const startOfFile: FilePosition = Object.freeze({ offset: 0, ordinal: 1, within: 0 });

export type DecodedUnit<T> =
  | { readonly ok: true; readonly value: T; readonly end: FilePosition }
  /** Could not be read: `error` says why (a SluiceError with `where` naming file and line); `count` records are lost with it. */
  | { readonly ok: false; readonly error: Error; readonly end: FilePosition; readonly count: number };

export interface Decoded<T> {
  readonly units: DecodedUnit<T>[];
  /** After the last complete unit (and anything skipped after it): where the next read starts. */
  readonly end: FilePosition;
}

export interface FileDecoder<T> {
  /** Where the first record starts, after the header. */
  readonly start: FilePosition;
  /**
   * Decodes the complete units at the start of `bytes`, which begins at `from`. `final`: the file
   * is complete, so a last unit without its terminator counts too. A unit over the size limit is
   * rejected and skipped; `bytes` should hold at least the limit (plus one byte) when the file does.
   * It returns after about `limit` units (an Avro block is returned whole).
   */
  decode(bytes: Buffer, from: FilePosition, final: boolean, limit?: number): Decoded<T>;
}

export interface FileEncoder<T> {
  /** What a new file starts with: a CSV header row, an Avro container header, or nothing. */
  header(): Buffer;
  encode(values: readonly T[]): Buffer;
}

export interface DecoderOptions {
  /** The file's name, for messages (`file:line`). */
  readonly file: string;
  /** Largest unit accepted, in bytes (a line, a CSV record, an Avro block). */
  readonly maxUnitSize: number;
  readonly csvDelimiter: string;
}

export interface FileFormat {
  readonly extension: string;
  /**
   * A decoder for one file, given its first bytes (`head`): `undefined` while its header is
   * incomplete; throws (SluiceError) when the file cannot be read in this format at all.
   */
  decoder<T>(schema: Schema<T>, head: Buffer, final: boolean, options: DecoderOptions): FileDecoder<T> | undefined;
  encoder<T>(schema: Schema<T>, options: EncoderOptions): FileEncoder<T>;
}

export interface EncoderOptions {
  readonly csvDelimiter: string;
  readonly avroCodec: 'null' | 'deflate';
}

/** `file:line`, the way editors and compilers point at a place. */
export const lineWhere = (file: string, line: number) => `${file}:${line}`;

/** Counts `\n` bytes in `bytes[from, to)`. */
export function countLines(bytes: Buffer, from: number, to: number): number {
  let count = 0;
  for (let i = bytes.indexOf(10, from); i >= 0 && i < to; i = bytes.indexOf(10, i + 1)) count++;
  return count;
}
