import { describe, expect, it } from 'vitest';
import { recordTemplate } from '../../../src/connectors/record-template.js';
import { defineSchema } from '../../../src/core/schema.js';

const Alert = defineSchema({
  type: 'record',
  name: 'Alert',
  namespace: 'test',
  fields: [
    { name: 'machine', type: 'string' },
    { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['LOW', 'HIGH'] } },
    { name: 'score', type: 'double' },
    {
      name: 'site',
      type: {
        type: 'record',
        name: 'Site',
        fields: [
          { name: 'name', type: 'string' },
          { name: 'line', type: 'int' },
        ],
      },
    },
    { name: 'tags', type: { type: 'array', items: 'string' } },
  ],
} as const);

const alert = { machine: 'press-7', level: 'HIGH', score: 0.93, site: { name: 'lyon', line: 2 }, tags: [] } as const;

describe('record templates for topics and routing keys', () => {
  it('fills placeholders from fields, nested ones by dotted path', () => {
    expect(recordTemplate('plant/{site.name}/line-{site.line}/{machine}/{level}', Alert, 'topic')({ ...alert, tags: [] })).toBe(
      'plant/lyon/line-2/press-7/HIGH',
    );
    expect(recordTemplate('score.{score}', Alert, 'routing-key')({ ...alert, tags: [] })).toBe('score.0.93');
    expect(recordTemplate('fixed/topic', Alert, 'topic')({ ...alert, tags: [] })).toBe('fixed/topic');
  });

  it('names the config key and what is wrong with a placeholder', () => {
    expect(() => recordTemplate('a/{machin}', Alert, 'topic')).toThrow(
      'topic: "a/{machin}": {machin} names no field of test.Alert (fields: machine, level, score, site, tags)',
    );
    expect(() => recordTemplate('a/{site.town}', Alert, 'topic')).toThrow('{site.town} names no field of test.Site (fields: name, line)');
    expect(() => recordTemplate('a/{machine.x}', Alert, 'topic')).toThrow('{machine} is a string, not a record with fields');
    expect(() => recordTemplate('a/{tags}', Alert, 'topic')).toThrow(
      '{tags} is a array; only string, int, long, float, double, boolean, enum fields can be written into it',
    );
    expect(() => recordTemplate('a/{site}', Alert, 'topic')).toThrow('{site} is a record;');
    expect(() => recordTemplate('a/{machine', Alert, 'routing-key')).toThrow('routing-key: "a/{machine": has an unmatched brace');
    expect(() => recordTemplate('a/machine}', Alert, 'topic')).toThrow('has an unmatched brace');
  });
});
