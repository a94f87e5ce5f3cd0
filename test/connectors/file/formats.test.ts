/**
 * The three file formats on their own: what an encoder writes its decoder reads back exactly
 * (also split at any byte), CSV columns by name and cells by type, and every malformed unit
 * rejected with `file:line` and a reason while the rest is read.
 */
import { describe, expect, it } from 'vitest';
import { ContainerWriter } from '../../../src/connectors/avro-container.js';
import { parseCsvRecords } from '../../../src/connectors/file/csv-records.js';
import { fileFormats, startOfFile, type DecodedUnit, type FileDecoder, type FilePosition } from '../../../src/connectors/file/format.js';
import { fileFormatsByName } from '../../../src/connectors/file/formats.js';
import type { Schema } from '../../../src/core/schema.js';
import { readings, ReadingSchema, type Reading } from './support.js';

const options = { file: 'in.x', maxUnitSize: 1024, csvDelimiter: ',' };

function decoderFor<T>(format: (typeof fileFormats)[number], schema: Schema<T>, bytes: Buffer, final = true, opts = options): FileDecoder<T> {
  const decoder = fileFormatsByName[format].decoder(schema, bytes, final, opts);
  if (!decoder) throw new Error('header incomplete');
  return decoder;
}

/** Decodes `bytes` window by window of `step` bytes, as a reader following a growing file does. */
function decodeAll<T>(decoder: FileDecoder<T>, bytes: Buffer, step: number, final = true): DecodedUnit<T>[] {
  const units: DecodedUnit<T>[] = [];
  let position: FilePosition = decoder.start;
  for (let guard = 0; position.offset < bytes.length || position.within > 0; guard++) {
    if (guard > 100_000) throw new Error('no progress');
    const window = bytes.subarray(position.offset, Math.min(bytes.length, position.offset + step + (guard % 3)));
    const { units: more, end } = decoder.decode(window, position, final && position.offset + window.length >= bytes.length);
    units.push(...more);
    if (end.offset === position.offset && end.within === position.within && more.length === 0) {
      if (position.offset + window.length >= bytes.length) break;
      step *= 2;
    }
    position = end;
  }
  return units;
}

const values = <T>(units: DecodedUnit<T>[]) => units.flatMap((u) => (u.ok ? [u.value] : []));
const errors = <T>(units: DecodedUnit<T>[]) => units.flatMap((u) => (u.ok ? [] : [u.error.message]));

describe.each(fileFormats)('%s', (format) => {
  const sent = readings(0, 60);
  const encoder = fileFormatsByName[format].encoder(ReadingSchema, { csvDelimiter: ',', avroCodec: 'deflate' });
  const file = Buffer.concat([encoder.header(), encoder.encode(sent.slice(0, 25)), encoder.encode(sent.slice(25))]);

  it('reads back exactly what was written: nulls, empty strings, quotes, newlines, bytes, arrays', () => {
    expect(values(decodeAll(decoderFor(format, ReadingSchema, file), file, 1 << 20))).toEqual(sent);
  });

  it('reads the same when the bytes come a few at a time, resuming at each position it returned', () => {
    expect(values(decodeAll(decoderFor(format, ReadingSchema, file, false), file, 7, false))).toEqual(sent);
  });
});

describe('CSV syntax', () => {
  const parsed = (text: string, final = false) => {
    const { records, end } = parseCsvRecords(Buffer.from(text), 0, 44, final);
    return { cells: records.map((r) => (r.error ? `error: ${r.error}` : r.cells)), end };
  };
  it('splits records outside quotes; unquoted empty cells are null, "" is the empty string; waits for a record to end', () => {
    expect(parsed('a,b\r\nc,\n\n"",d\ne')).toEqual({
      cells: [
        ['a', 'b'],
        ['c', null],
        ['', 'd'],
      ],
      end: 14,
    });
    expect(parsed('a,b\r\nc,\n\n"",d\ne', true)).toEqual({ cells: [['a', 'b'], ['c', null], ['', 'd'], ['e']], end: 15 });
    expect(parsed('a,"b\nc ""q"" é",d\n')).toEqual({ cells: [['a', 'b\nc "q" é', 'd']], end: 19 });
    expect(parsed('a,"b\nc')).toEqual({ cells: [], end: 0 });
    expect(parsed('a,"b"')).toEqual({ cells: [], end: 0 }); // the closing quote could still be the first half of ""
    expect(parsed('a,b"c\n')).toEqual({ cells: [['a', 'b"c']], end: 6 }); // a quote inside a field is text
  });
  it('marks malformed records and goes on after them', () => {
    expect(parsed('"a"b,c\nd\n')).toEqual({ cells: ['error: text after the closing quote of field 1', ['d']], end: 9 });
    expect(parsed('x\n"a,b\nc', true)).toEqual({ cells: [['x'], 'error: the quoted field 1 is not closed'], end: 8 });
  });
});

describe('csv', () => {
  const decode = (text: string, opts = options) => {
    const bytes = Buffer.from(text);
    return decodeAll(decoderFor('csv', ReadingSchema, bytes, true, opts), bytes, 1 << 20);
  };

  it('maps columns to fields by name, in any order; extra columns are ignored, missing ones take their defaults', () => {
    const units = decode('\ufeffvalue,unused,id,sensor,note\n1.5,zzz,1,a,\n-2e3,,2,"b, c",""\n');
    expect(values(units)).toEqual([
      { id: 1, sensor: 'a', value: 1.5, ok: true, note: null, tags: [], raw: Buffer.alloc(0) },
      { id: 2, sensor: 'b, c', value: -2000, ok: true, note: '', tags: [], raw: Buffer.alloc(0) },
    ]);
  });

  it('converts cells by type: booleans, JSON arrays, base64 bytes; with another delimiter', () => {
    const units = decode('id;sensor;value;ok;tags;raw\n3;s;0;FALSE;["x","y"];AAH/\n', { ...options, csvDelimiter: ';' });
    expect(values(units)).toEqual([{ id: 3, sensor: 's', value: 0, ok: false, note: null, tags: ['x', 'y'], raw: Buffer.from([0, 1, 255]) }]);
  });

  it('rejects a bad record with file:line and why, and reads on', () => {
    const units = decode(
      ['id,sensor,value', '1,a,1', '2,b,hot', 'x,c,3', '4,d', '5,"multi', 'line",5', ',e,6', '7,f,7', `8,${'g'.repeat(2000)},8`, '9,h,9'].join('\n') + '\n',
    );
    expect(values(units).map((r) => r.id)).toEqual([1, 5, 7, 9]);
    expect(errors(units)).toEqual([
      'record for in.x:3 does not match schema test.connectors.Reading: value: "hot" is not a number (double)',
      'record for in.x:4 does not match schema test.connectors.Reading: id: "x" is not an integer (long)',
      'record for in.x:5 does not match schema test.connectors.Reading: has 2 values; the header has 3 columns',
      'record for in.x:8 does not match schema test.connectors.Reading: id: missing (long, no default)',
      'record on in.x:10 (schema test.connectors.Reading) is 2005 bytes, over the limit of 1024 bytes',
    ]);
  });

  it('refuses a file whose header names no column, or repeats one', () => {
    expect(() => decoderFor('csv', ReadingSchema, Buffer.from(' , \n1,2\n'))).toThrow(
      /in\.x:1 \(header\) cannot be decoded .*: not CSV: the header row names no columns/,
    );
    expect(() => decoderFor('csv', ReadingSchema, Buffer.from('id,id\n1,2\n'))).toThrow(/not CSV: the header repeats column id/);
  });
});

describe('jsonl', () => {
  it('rejects bad JSON, wrong types, missing fields and oversized lines with file:line, and reads on', () => {
    const good = (id: number) => JSON.stringify({ id, sensor: 's', value: 1 });
    const text = [
      good(1),
      '{"id": 2,',
      JSON.stringify({ id: 3, sensor: 's', value: 'x' }),
      '',
      JSON.stringify({ id: 4 }),
      `{"id":5,"sensor":"${'y'.repeat(3000)}","value":1}`,
      good(6),
    ].join('\r\n');
    const bytes = Buffer.from(text);
    const units = decodeAll(decoderFor('jsonl', ReadingSchema, bytes), bytes, 1100);
    expect(values(units).map((r) => r.id)).toEqual([1, 6]);
    const messages = errors(units);
    expect(messages[0]).toMatch(/^record on in\.x:2 cannot be decoded with schema test\.connectors\.Reading: not JSON: /);
    expect(messages.slice(1, 3)).toEqual([
      'record for in.x:3 does not match schema test.connectors.Reading: value: "x" is not a number (double)',
      'record for in.x:5 does not match schema test.connectors.Reading: sensor: missing (string, no default); value: missing (double, no default)',
    ]);
    expect(messages[3]).toMatch(/^record on in\.x:6 \(schema test\.connectors\.Reading\) is at least 1\d{3} bytes, over the limit of 1024 bytes$/);
    expect(messages).toHaveLength(4);
  });

  it('waits for the end of a line unless the file is complete', () => {
    const decoder = decoderFor('jsonl', ReadingSchema, Buffer.alloc(0));
    const partial = Buffer.from('{"id": 1, "sensor": "s", "value": 1}');
    expect(decoder.decode(partial, startOfFile, false)).toEqual({ units: [], end: startOfFile });
    expect(values(decoder.decode(partial, startOfFile, true).units)).toHaveLength(1);
  });
});

describe('avro', () => {
  it('resumes inside a block at the exact record', () => {
    const writer = new ContainerWriter(ReadingSchema, 'null');
    const header = writer.header();
    const file = Buffer.concat([header, writer.block(readings(0, 5)), writer.block(readings(5, 3))]);
    const decoder = decoderFor('avro', ReadingSchema, file);
    const resumed = decoder.decode(file.subarray(header.length), { offset: header.length, ordinal: 3, within: 2 }, true);
    expect(values(resumed.units).map((r: Reading) => r.id)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(resumed.units[0]?.end).toEqual({ offset: header.length, ordinal: 4, within: 3 });
  });

  it('rejects a corrupt block with its records and reads on after the next sync marker; refuses a file that is not a container', () => {
    const writer = new ContainerWriter(ReadingSchema, 'null');
    const blocks = [writer.block(readings(0, 2)), writer.block(readings(2, 2)), writer.block(readings(4, 2))];
    const middle = Buffer.from(blocks[1] as Buffer);
    middle.fill(0xff, 2, 10);
    const file = Buffer.concat([writer.header(), blocks[0] as Buffer, middle, blocks[2] as Buffer]);
    const units = decodeAll(decoderFor('avro', ReadingSchema, file), file, 1 << 20);
    expect(values(units).map((r) => r.id)).toEqual([0, 1, 4, 5]);
    expect(errors(units)).toHaveLength(1);
    expect(errors(units)[0]).toMatch(/^record on in\.x: block at byte \d+ cannot be decoded with schema test\.connectors\.Reading: /);
    expect(() => decoderFor('avro', ReadingSchema, Buffer.from('id,sensor\n'))).toThrow(/not an Avro container file/);
  });
});
