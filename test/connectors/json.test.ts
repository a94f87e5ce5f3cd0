import { describe, expect, it } from 'vitest';
import { fromJson, parseJson, stringifyJson } from '../../src/connectors/json.js';
import { defineSchema } from '../../src/core/schema.js';

const Reading = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'test',
  fields: [
    { name: 'machine', type: 'long' },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['TEMP', 'VIBRATION'] } },
    { name: 'values', type: { type: 'array', items: 'double' } },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'raw', type: 'bytes', default: '' },
    { name: 'tags', type: { type: 'map', values: 'string' }, default: {} },
    { name: 'either', type: ['null', 'long', 'double', { type: 'record', name: 'Pair', fields: [{ name: 'a', type: 'int' }] }], default: null },
  ],
} as const);

describe('records as JSON', () => {
  it('fills defaults, decodes base64 bytes, and accepts bare and tagged union values', () => {
    const value = fromJson(Reading, { machine: 7, kind: 'TEMP', values: [1.5, 2], raw: Buffer.from('hi').toString('base64'), note: { string: 'x' } }, 'in');
    expect(value).toEqual({ machine: 7, kind: 'TEMP', values: [1.5, 2], note: 'x', raw: Buffer.from('hi'), tags: {}, either: null });
    expect(Reading.decode(Reading.encode(value), 'x')).toEqual(value);
    expect(fromJson(Reading, { machine: 1, kind: 'TEMP', values: [], either: { a: 3 } }, 'in').either).toEqual({ 'test.Pair': { a: 3 } });
    expect(fromJson(Reading, { machine: 1, kind: 'TEMP', values: [], either: 4 }, 'in').either).toEqual({ long: 4 });
  });

  it('names every bad field by its path', () => {
    expect(() => fromJson(Reading, { machine: 1.5, kind: 'HUMIDITY', values: [1, 'two'], tags: { a: 1 } }, 'sensors.out')).toThrow(
      'record for sensors.out does not match schema test.Reading: machine: 1.5 is not an integer (long); kind: "HUMIDITY" is not one of TEMP, VIBRATION; values[1]: "two" is not a number (double); tags.a: 1 is not a string',
    );
    expect(() => fromJson(Reading, { kind: 'TEMP' }, 'in')).toThrow('machine: missing (long, no default); values: missing (array, no default)');
    expect(() => fromJson(Reading, [1], 'in')).toThrow('(record): [1] is not an object');
    expect(() => fromJson(Reading, { machine: 1, kind: 'TEMP', values: [], raw: '**' }, 'in')).toThrow('raw: "**" is not base64 bytes');
  });

  it('rejects what is not JSON, and writes JSON it reads back', () => {
    expect(() => parseJson(Reading, '{"machine": ', 'http')).toThrow(/record on http cannot be decoded with schema test.Reading: not JSON: /);
    const value = fromJson(Reading, { machine: 2, kind: 'VIBRATION', values: [0.25], raw: 'AAE=' }, 'in');
    expect(parseJson(Reading, stringifyJson(value), 'in')).toEqual(value);
  });
});
