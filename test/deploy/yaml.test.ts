/**
 * The YAML writer: what it writes reads back, through an independent parser, as the same data,
 * whatever the strings hold.
 */
import { describe, expect, it } from 'vitest';
import { toYaml, toYamlDocuments, type YamlValue } from '../../src/deploy/yaml.js';
import { readYamlDocuments } from './yaml-reader.js';

async function roundTrip(value: YamlValue): Promise<unknown> {
  const [read] = await readYamlDocuments(toYaml(value));
  return read;
}

describe('toYaml', () => {
  it('keeps strings that a YAML reader could take for something else as strings', async () => {
    const tricky = [
      'true',
      'False',
      'yes',
      'NO',
      'on',
      'Off',
      'y',
      'n',
      'null',
      '~',
      '',
      '1',
      '007',
      '1.5',
      '1e3',
      '0x1F',
      '.inf',
      '-1',
      '2024-01-01',
      '12:30',
      '250m',
      '1Gi',
      '-',
      '--runtime',
      '- item',
      'a: b',
      'a:',
      '#comment',
      'x #y',
      '&anchor',
      '*alias',
      '!tag',
      '%directive',
      '@at',
      '`tick',
      '{a}',
      '[a]',
      '"q"',
      "'q'",
      'a, b',
      '?',
      '|',
      '>',
      ' leading',
      'trailing ',
      'tab\there',
      'é',
      '😀',
      'back\\slash',
      '$(SLUICE_NATS_URL)',
      'sluice.nats.url=$(X)',
    ];
    for (const text of tricky) expect(await roundTrip({ key: text }), JSON.stringify(text)).toEqual({ key: text });
    expect(await roundTrip(tricky)).toEqual(tricky);
  });

  it('writes keys that need quoting quoted', async () => {
    const keys = { 'app.kubernetes.io/name': 1, true: 2, '1': 3, 'a b': 4, 'a: b': 5, '': 6, '-x': 7, '#': 8 };
    expect(await roundTrip(keys)).toEqual(keys);
  });

  it('writes numbers, booleans, null, empty collections and nesting as they are', async () => {
    const value = {
      n: 5000,
      f: 0.25,
      neg: -3,
      t: true,
      f2: false,
      nil: null,
      emptyList: [],
      emptyMap: {},
      list: [1, 'a', [2, [3]], { b: [{ c: 'd' }] }, []],
      deep: { a: { b: { c: [] } } },
    };
    expect(await roundTrip(value)).toEqual(value);
    expect(await roundTrip([[{ a: 1, b: [1, 2] }], {}])).toEqual([[{ a: 1, b: [1, 2] }], {}]);
  });

  it('writes a multi-line text as a literal block that reads back exactly', async () => {
    const config = '{\n  "a": "x: y # z",\n\n  "b": [1, 2]\n}\n';
    const text = toYaml({ data: { 'application.conf': config } });
    expect(text).toContain('application.conf: |\n    {\n      "a"');
    expect(await roundTrip({ data: { 'application.conf': config } })).toEqual({ data: { 'application.conf': config } });
    expect(await roundTrip([config])).toEqual([config]);
  });

  it('quotes multi-line text a literal block cannot hold exactly', async () => {
    for (const text of [
      'no final newline\nhere',
      'two final newlines\n\n',
      ' indented first line\nx\n',
      'tab\tinside\nx\n',
      'a\n',
      '\nleading newline\n',
      'trailing space \nx\n',
      'cr\r\nx\n',
    ]) {
      expect(await roundTrip({ text }), JSON.stringify(text)).toEqual({ text });
    }
  });

  it('refuses numbers YAML has no way to write', () => {
    expect(() => toYaml({ n: Number.NaN })).toThrow('cannot write NaN as YAML');
    expect(() => toYaml({ n: Number.POSITIVE_INFINITY })).toThrow('cannot write Infinity as YAML');
  });

  it('separates documents with ---', async () => {
    const docs: YamlValue[] = [{ kind: 'A' }, { kind: 'B', list: ['x'] }];
    expect(toYamlDocuments(docs)).toBe('kind: A\n---\nkind: B\nlist:\n- x\n');
    expect(await readYamlDocuments(toYamlDocuments(docs))).toEqual(docs);
  });
});
