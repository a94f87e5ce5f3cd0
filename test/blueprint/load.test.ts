import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/core/errors.js';
import { formatProblem } from '../../src/blueprint/problem.js';
import { loadApplication, loadBlueprint } from '../../src/blueprint/validate.js';
import { testPackage } from './fixtures.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/blueprints');
const fixture = (name: string): string => path.join(fixtures, name);
const packages = { test: async () => testPackage };

describe('loadBlueprint', () => {
  it("loads a user's module named in modules, next to packages given in code", async () => {
    const file = fixture('with-module.conf');
    const { blueprint, application, problems } = await loadBlueprint(file, { packages });
    expect(problems).toEqual([]);
    expect(blueprint.modules).toEqual({ user: fixture('user-module.ts') });
    expect(application?.file).toBe(file);
    expect([...(application?.streamlets.values() ?? [])].map((s) => [s.name, s.className, s.definition.description])).toEqual([
      ['counter', 'user.Counter', 'Counts'],
      ['printer', 'user.Printer', 'Prints counts'],
      ['src', 'test.Source', 'Writes readings'],
      ['fmt', 'test.Formatter', 'Turns readings into text'],
    ]);
    expect(application?.topics.map((t) => [t.name, t.schema.name])).toEqual([
      ['counter-out', 'user.Count'],
      ['src-out', 'test.Reading'],
    ]);
  });

  it('reports every problem of a file, each with file:line:column', async () => {
    const file = fixture('many-problems.conf');
    const { application, problems } = await loadBlueprint(file, { packages });
    expect(application).toBeUndefined();
    const broken = fixture('broken-module.ts');
    expect(problems.map((p) => formatProblem(p))).toEqual([
      `${file}:3:5: streamlet name "Ingress" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
      `${file}:6:5: streamlet "gone": streamlet class test.Missing not found: package test has no class Missing (classes: DeadLetterSink, Formatter, Merger, ReadingSinkV2, Source, StrictSink, TextSink)`,
      `${file}:7:5: streamlet "broken": streamlet class bad.Thing cannot be loaded: module ${broken} (package bad) failed to load: broken on purpose`,
      `${file}:8:5: streamlet "fmt" is defined again (first at line 4); names must be unique`,
      `${file}:11:28: "Ingress.out" writes schema test.Reading, which "sink.in" (schema test.Text) cannot read: no alias found for test.Reading`,
      `${file}:12:16: streamlet "sink" (test.TextSink) has no port "nope" (inlets: in; outlets: none)`,
      `${file}:13:5: "fmt.in" is an inlet, so it cannot produce to topic "fmt-in" (outlets of fmt: out)`,
      `${file}:13:15: "ghost.in": no streamlet named "ghost" in this blueprint (streamlets: Ingress, fmt, sink, gone, broken)`,
      `${file}:16:33: inlet "fmt.in" is fed by topics "Ingress-out" and "dead-letters": an inlet reads exactly one topic`,
      `${file}:16:33: "fmt.in" (schema test.Reading) cannot read dead letters (schema sluice.DeadLetter): no alias found for sluice.DeadLetter`,
    ]);
  });

  it('loadApplication throws SLUICE_ERR_BLUEPRINT_INVALID listing every problem', async () => {
    const file = fixture('many-problems.conf');
    const err: unknown = await loadApplication(file, { packages }).catch((e: unknown) => e);
    expect(isSluiceError(err, 'SLUICE_ERR_BLUEPRINT_INVALID')).toBe(true);
    const lines = (err as Error).message.split('\n');
    expect(lines[0]).toBe(`blueprint ${file} has 10 problem(s):`);
    expect(lines[1]).toBe(
      `  ${file}:3:5: streamlet name "Ingress" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    );
    expect(lines).toHaveLength(11);
    expect((await loadApplication(fixture('with-module.conf'), { packages })).topics).toHaveLength(2);
  });

  it('returns a HOCON syntax error as a problem with its position', async () => {
    const file = fixture('syntax-error.conf');
    const { application, problems } = await loadBlueprint(file, { packages });
    expect(application).toBeUndefined();
    expect(problems.map((p) => [p.rule, formatProblem(p)])).toEqual([
      ['syntax', `${file}:3:11: unterminated string: a quoted string must end on the same line (use """ for text over several lines)`],
    ]);
  });

  it('refuses to include code', async () => {
    const file = fixture('include-code.conf');
    const { problems } = await loadBlueprint(file, { packages });
    expect(problems.map((p) => [p.rule, formatProblem(p)])).toEqual([
      [
        'syntax',
        `${file}:1:1: include of streamlets.js refused: only local .conf, .json and .properties files can be included, not .js files (configuration never loads code)`,
      ],
    ]);
  });

  it('validates the recommender example against its package, imported lazily', async () => {
    const file = path.resolve(fixtures, '../../../examples/recommender/recommender.conf');
    const { application, problems } = await loadBlueprint(file, { packages: { recommender: () => import('../../examples/recommender/streamlets.js') } });
    expect(problems).toEqual([]);
    expect(application?.topics.map((t) => [t.name, t.consumers.map((c) => `${c.streamlet}.${c.inlet}`)])).toEqual([
      ['data-ingress-out', ['model-serving.in-0']],
      ['model-ingress-out', ['model-serving.in-1']],
      ['model-serving-out', ['console.in']],
    ]);
  });

  it('throws when the file cannot be read', async () => {
    await expect(loadBlueprint(fixture('nope.conf'))).rejects.toThrow(/ENOENT/);
  });
});
