import { describe, expect, it } from 'vitest';
import { parseHocon } from '../../src/core/hocon.js';
import { DeadLetter } from '../../src/blueprint/dead-letter.js';
import { formatProblem } from '../../src/blueprint/problem.js';
import { validateBlueprint } from '../../src/blueprint/validate.js';
import { Formatter, Reading, Source, Text, TextSink, check, classes, notFound, problemsOf } from './fixtures.js';

const classList = 'DeadLetterSink, Formatter, Merger, ReadingSinkV2, Source, StrictSink, TextSink';

describe('a valid blueprint', () => {
  it('becomes a frozen, typed application', async () => {
    const { application, problems } = await check(`blueprint {
  streamlets {
    src = test.Source
    fmt = test.Formatter
    sink = test.TextSink
    v2 = test.ReadingSinkV2
    dlq = test.DeadLetterSink
  }
  connections {
    src.out = [fmt.in, v2.in]   # ReadingSinkV2 reads Reading: the added field has a default
    dead-letters = [dlq.in]
  }
  topics {
    text { producers = [fmt.out], consumers = [sink.in] }
  }
}`);
    expect(problems).toEqual([]);
    if (!application) throw new Error('expected an application');
    expect(application.file).toBe('/virtual/test.conf');
    expect([...application.streamlets.keys()]).toEqual(['src', 'fmt', 'sink', 'v2', 'dlq']);
    expect(application.streamlets.get('fmt')).toEqual({ name: 'fmt', className: 'test.Formatter', definition: Formatter });
    expect(application.topics.map((t) => ({ ...t, schema: t.schema.name }))).toEqual([
      {
        name: 'src-out',
        schema: 'test.Reading',
        producers: [{ streamlet: 'src', outlet: 'out' }],
        consumers: [
          { streamlet: 'fmt', inlet: 'in' },
          { streamlet: 'v2', inlet: 'in' },
        ],
      },
      { name: 'dead-letters', schema: 'sluice.DeadLetter', producers: [], consumers: [{ streamlet: 'dlq', inlet: 'in' }] },
      { name: 'text', schema: 'test.Text', producers: [{ streamlet: 'fmt', outlet: 'out' }], consumers: [{ streamlet: 'sink', inlet: 'in' }] },
    ]);
    expect(application.topics[0]?.schema).toBe(Reading);
    expect(application.topics[1]?.schema).toBe(DeadLetter);
    expect(application.topics[2]?.schema).toBe(Text);
    expect(Object.isFrozen(application) && Object.isFrozen(application.topics) && Object.isFrozen(application.topics[0]?.consumers)).toBe(true);
    expect(Object.isFrozen(application.streamlets.get('src'))).toBe(true);
    expect('set' in application.streamlets).toBe(false);
    expect([...application.streamlets].map(([name]) => name)).toEqual(['src', 'fmt', 'sink', 'v2', 'dlq']);
  });

  it('allows unconnected outlets: what they emit is discarded', async () => {
    const { application, problems } = await check('blueprint { streamlets { src = test.Source } }');
    expect(problems).toEqual([]);
    expect(application?.topics).toEqual([]);
  });

  it('validates with a class map built by hand (no resolver, no files)', () => {
    const text = 'blueprint {\n  streamlets { src = test.Source, sink = test.TextSink }\n  connections { src.out = [sink.in] }\n}';
    const doc = parseHocon(text, { file: 'mem.conf' });
    const result = validateBlueprint(doc, classes({ 'test.Source': Source, 'test.TextSink': TextSink }), { file: 'mem.conf' });
    expect(result.application).toBeUndefined();
    expect(result.problems.map((p) => formatProblem(p))).toEqual([
      'mem.conf:3:28: "src.out" writes schema test.Reading, which "sink.in" (schema test.Text) cannot read: no alias found for test.Reading',
    ]);
  });
});

describe('wiring problems', () => {
  it('unknown-class: says which packages and classes exist', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { a = test.Nope, b = nope.Thing, c = Thing }
}`),
    ).toEqual([
      `unknown-class: streamlet "a": streamlet class test.Nope not found: package test has no class Nope (classes: ${classList})`,
      'unknown-class: streamlet "b": streamlet class nope.Thing not found: package nope is not known (packages: test)',
      'unknown-class: streamlet "c": streamlet class Thing not found: class names have the form package.Class (packages: test)',
    ]);
  });

  it('class-load-failed: says why', async () => {
    const broken = async (): Promise<object> => {
      throw new Error('Cannot find module "onnxruntime-node"');
    };
    expect(await problemsOf('blueprint { streamlets { a = broken.Thing } }', { broken })).toEqual([
      'class-load-failed: streamlet "a": streamlet class broken.Thing cannot be loaded: package broken failed to load: Cannot find module "onnxruntime-node"',
    ]);
  });

  it('a class map without an entry counts as an unknown class', () => {
    const text = 'blueprint { streamlets { a = test.Source, b = x.Y } }';
    const result = validateBlueprint(parseHocon(text), classes({ 'test.Source': Source, 'x.Y': notFound('x.Y', 'package x is not known') }), {
      file: '<text>',
    });
    expect(result.problems.map((p) => `${p.rule}: ${p.message}`)).toEqual([
      'unknown-class: streamlet "b": streamlet class x.Y not found: package x is not known',
    ]);
    const missing = validateBlueprint(parseHocon(text), classes({}), { file: '<text>' });
    expect(missing.problems.map((p) => p.message)).toEqual([
      'streamlet "a": streamlet class test.Source not found: it was not resolved',
      'streamlet "b": streamlet class x.Y not found: it was not resolved',
    ]);
  });

  it('unknown-streamlet', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source }
  connections { src.out = [ghost.in] }
}`),
    ).toEqual(['unknown-streamlet: "ghost.in": no streamlet named "ghost" in this blueprint (streamlets: src)']);
  });

  it('unknown-port: says which inlets and outlets exist', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter }
  connections {
    src.out = [fmt.nope]
    src.output = [fmt.in]
  }
}`),
    ).toEqual([
      'unknown-port: streamlet "fmt" (test.Formatter) has no port "nope" (inlets: in; outlets: out)',
      'unknown-port: streamlet "src" (test.Source) has no port "output" (inlets: none; outlets: out)',
    ]);
  });

  it('inlet-as-producer', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter, sink = test.TextSink }
  connections {
    src.out = [fmt.in]
    fmt.in = [sink.in]
  }
}`),
    ).toEqual(['inlet-as-producer: "fmt.in" is an inlet, so it cannot produce to topic "fmt-in" (outlets of fmt: out)']);
  });

  it('outlet-as-consumer', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter }
  topics { readings { producers = [src.out], consumers = [fmt.in, fmt.out] } }
}`),
    ).toEqual(['outlet-as-consumer: "fmt.out" is an outlet, so it cannot consume topic "readings" (inlets of fmt: in)']);
  });

  it('duplicate-port', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter }
  connections { src.out = [fmt.in, fmt.in] }
}`),
    ).toEqual(['duplicate-port: "fmt.in" is listed twice in topic "src-out"']);
  });

  it('inlet-multiple-topics', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { a = test.Source, b = test.Source, fmt = test.Formatter }
  connections { a.out = [fmt.in] }
  topics { more { producers = [b.out], consumers = [fmt.in] } }
}`),
    ).toEqual(['inlet-multiple-topics: inlet "fmt.in" is fed by topics "a-out" and "more": an inlet reads exactly one topic']);
  });

  it('unconnected-inlet', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source, m = test.Merger }
  connections { src.out = [m.in-0] }
}`),
    ).toEqual(['unconnected-inlet: inlet "m.in-1" is not connected: no topic feeds it']);
  });

  it('incompatible-schema: names both schemas and why', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source, sink = test.TextSink, strict = test.StrictSink }
  connections { src.out = [sink.in, strict.in] }
}`),
    ).toEqual([
      'incompatible-schema: "src.out" writes schema test.Reading, which "sink.in" (schema test.Text) cannot read: no alias found for test.Reading',
      'incompatible-schema: "src.out" writes schema test.Reading, which "strict.in" (schema test.Reading) cannot read: no matching field for default-less test.Reading.unit',
    ]);
  });

  it('producer-schema-mismatch', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter, m = test.Merger }
  connections { src.out = [m.in-0, m.in-1] }
  topics { mixed { producers = [m.out, fmt.out], consumers = [fmt.in] } }
}`),
    ).toEqual(['producer-schema-mismatch: topic "mixed" has producers writing different schemas: "m.out" writes test.Reading, "fmt.out" writes test.Text']);
  });

  it('dead-letter-schema', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { ok = test.DeadLetterSink, fmt = test.Formatter }
  connections { dead-letters = [ok.in, fmt.in] }
}`),
    ).toEqual(['dead-letter-schema: "fmt.in" (schema test.Reading) cannot read dead letters (schema sluice.DeadLetter): no alias found for sluice.DeadLetter']);
  });

  it('reports every problem at once, in file order, each with its line and key', async () => {
    const { problems, application } = await check(`blueprint {
  streamlets {
    Src = test.Source
    fmt = test.Formatter
    sink = test.TextSink
    lost = test.Nope
    fmt = test.Formatter
  }
  connections {
    Src.out = [fmt.in, sink.in]
    fmt.out = [fmt.out, ghost.in]
    sink = [fmt.in]
  }
  topics {
    orphan { consumers = [sink.in] }
  }
}`);
    expect(application).toBeUndefined();
    expect(problems.map((p) => [p.rule, p.key, p.position?.line])).toEqual([
      ['invalid-name', 'blueprint.streamlets.Src', 3],
      ['unknown-class', 'blueprint.streamlets.lost', 6],
      ['duplicate-streamlet', 'blueprint.streamlets.fmt', 7],
      ['incompatible-schema', 'blueprint.connections."Src.out"[1]', 10],
      ['outlet-as-consumer', 'blueprint.connections."fmt.out"[0]', 11],
      ['unknown-streamlet', 'blueprint.connections."fmt.out"[1]', 11],
      ['malformed-port', 'blueprint.connections.sink', 12],
      ['inlet-multiple-topics', 'blueprint.connections.sink[0]', 12],
      ['no-producer', 'blueprint.topics.orphan', 15],
      ['inlet-multiple-topics', 'blueprint.topics.orphan.consumers[0]', 15],
    ]);
    expect(problems.map((p) => formatProblem(p))).toEqual([
      `/virtual/test.conf:3:5: streamlet name "Src" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
      `/virtual/test.conf:6:5: streamlet "lost": streamlet class test.Nope not found: package test has no class Nope (classes: ${classList})`,
      '/virtual/test.conf:7:5: streamlet "fmt" is defined again (first at line 4); names must be unique',
      '/virtual/test.conf:10:24: "Src.out" writes schema test.Reading, which "sink.in" (schema test.Text) cannot read: no alias found for test.Reading',
      '/virtual/test.conf:11:16: "fmt.out" is an outlet, so it cannot consume topic "fmt-out" (inlets of fmt: in)',
      '/virtual/test.conf:11:25: "ghost.in": no streamlet named "ghost" in this blueprint (streamlets: Src, fmt, sink, lost)',
      '/virtual/test.conf:12:5: "sink" is not a port reference: write streamlet.port, e.g. sink.out',
      '/virtual/test.conf:12:13: inlet "fmt.in" is fed by topics "Src-out" and "sink": an inlet reads exactly one topic',
      '/virtual/test.conf:15:5: topic "orphan" has no producers: list at least one outlet, e.g. producers = [streamlet.out]',
      '/virtual/test.conf:15:27: inlet "sink.in" is fed by topics "Src-out" and "orphan": an inlet reads exactly one topic',
    ]);
  });
});
