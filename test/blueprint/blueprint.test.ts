import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHocon } from '../../src/core/hocon.js';
import { isDns1123Label, readBlueprint } from '../../src/blueprint/blueprint.js';
import { formatProblem } from '../../src/blueprint/problem.js';
import { problemsOf } from './fixtures.js';

const file = '/virtual/app/blueprint.conf';
const read = (text: string) => readBlueprint(parseHocon(text, { file }), { file });
const refs = (list: readonly { streamlet: string; port: string }[]) => list.map((ref) => `${ref.streamlet}.${ref.port}`);

describe('reading a blueprint', () => {
  it('reads the connections form: one topic per producer port, named after it', () => {
    const { blueprint, problems } = read(`blueprint {
  streamlets {
    data-ingress = test.Source
    fmt = test.Formatter
    console = test.TextSink
  }
  connections {
    data-ingress.out = [fmt.in]
    fmt.out = [console.in]
  }
}`);
    expect(problems).toEqual([]);
    expect(blueprint.file).toBe(file);
    expect(blueprint.streamlets.map((s) => [s.name, s.className, s.key, s.position?.line])).toEqual([
      ['data-ingress', 'test.Source', 'blueprint.streamlets.data-ingress', 3],
      ['fmt', 'test.Formatter', 'blueprint.streamlets.fmt', 4],
      ['console', 'test.TextSink', 'blueprint.streamlets.console', 5],
    ]);
    expect(blueprint.topics.map((t) => [t.name, t.form, refs(t.producers), refs(t.consumers), t.key, t.position?.line])).toEqual([
      ['data-ingress-out', 'connections', ['data-ingress.out'], ['fmt.in'], 'blueprint.connections."data-ingress.out"', 8],
      ['fmt-out', 'connections', ['fmt.out'], ['console.in'], 'blueprint.connections."fmt.out"', 9],
    ]);
    const consumer = blueprint.topics[0]?.consumers[0];
    expect(consumer?.key).toBe('blueprint.connections."data-ingress.out"[0]');
    expect(consumer?.position?.file).toBe(file);
    expect(consumer?.position?.line).toBe(8);
    expect(Object.isFrozen(blueprint) && Object.isFrozen(blueprint.topics) && Object.isFrozen(blueprint.streamlets)).toBe(true);
  });

  it('reads quoted connection keys like unquoted ones', () => {
    const { blueprint, problems } = read(`blueprint {
  streamlets { a = test.Source, b = test.Formatter }
  connections { "a.out" = [ "b.in" ] }
}`);
    expect(problems).toEqual([]);
    expect(blueprint.topics.map((t) => [t.name, refs(t.producers), refs(t.consumers)])).toEqual([['a-out', ['a.out'], ['b.in']]]);
  });

  it("reads Cloudflow 2's topics form", () => {
    const { blueprint, problems } = read(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter }
  topics {
    readings {
      producers = [src.out]
      consumers = [fmt.in]
    }
  }
}`);
    expect(problems).toEqual([]);
    expect(blueprint.topics.map((t) => [t.name, t.form, refs(t.producers), refs(t.consumers), t.key, t.position?.line])).toEqual([
      ['readings', 'topics', ['src.out'], ['fmt.in'], 'blueprint.topics.readings', 4],
    ]);
    expect(blueprint.topics[0]?.consumers[0]?.key).toBe('blueprint.topics.readings.consumers[0]');
  });

  it('reads both forms in one blueprint', () => {
    const { blueprint, problems } = read(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter, sink = test.TextSink }
  connections { src.out = [fmt.in] }
  topics { text { producers = [fmt.out], consumers = [sink.in] } }
}`);
    expect(problems).toEqual([]);
    expect(blueprint.topics.map((t) => [t.name, t.form])).toEqual([
      ['src-out', 'connections'],
      ['text', 'topics'],
    ]);
  });

  it('reads a dotted-key streamlets block', () => {
    const { blueprint, problems } = read(`blueprint.streamlets.src = test.Source
blueprint.streamlets.fmt = test.Formatter
blueprint.connections.src.out = [fmt.in]
`);
    expect(problems).toEqual([]);
    expect(blueprint.streamlets.map((s) => [s.name, s.className, s.position?.line])).toEqual([
      ['src', 'test.Source', 1],
      ['fmt', 'test.Formatter', 2],
    ]);
    expect(blueprint.topics.map((t) => t.name)).toEqual(['src-out']);
  });

  it('reads dead-letters consumers in both forms', () => {
    const connections = read(`blueprint {
  streamlets { dlq = test.DeadLetterSink }
  connections { dead-letters = [dlq.in] }
}`);
    expect(connections.problems).toEqual([]);
    expect(connections.blueprint.topics.map((t) => [t.name, refs(t.producers), refs(t.consumers)])).toEqual([['dead-letters', [], ['dlq.in']]]);
    const topics = read(`blueprint {
  streamlets { dlq = test.DeadLetterSink }
  topics { dead-letters { consumers = [dlq.in] } }
}`);
    expect(topics.problems).toEqual([]);
    expect(topics.blueprint.topics.map((t) => [t.name, refs(t.producers), refs(t.consumers)])).toEqual([['dead-letters', [], ['dlq.in']]]);
  });

  it('resolves modules relative to the blueprint file', () => {
    const { blueprint, problems } = read(`blueprint {
  streamlets { a = mine.Thing }
  modules { mine = "./lib/streamlets.js", "acme.tools" = "/opt/acme/tools.js" }
}`);
    expect(problems).toEqual([]);
    expect(blueprint.modules).toEqual({ mine: path.resolve('/virtual/app/lib/streamlets.js'), 'acme.tools': path.resolve('/opt/acme/tools.js') });
  });

  it('accepts exactly the DNS-1123 labels as names', () => {
    for (const name of ['a', 'data-ingress', 'in0', '0a', 'a'.repeat(63)]) expect(isDns1123Label(name), name).toBe(true);
    for (const name of ['', 'A', 'data_ingress', '-a', 'a-', 'a.b', 'a b', 'a'.repeat(64)]) expect(isDns1123Label(name), name).toBe(false);
  });
});

describe('blueprint shape problems', () => {
  it('missing-blueprint', async () => {
    expect(await problemsOf('streamlets { a = test.Source }')).toEqual([
      'missing-blueprint: missing section "blueprint": a blueprint file holds blueprint { streamlets { ... }, connections { ... } }',
    ]);
  });

  it('missing-streamlets', async () => {
    const { problems } = read('blueprint {\n  connections { }\n}');
    expect(problems.map((p) => [p.rule, p.key, p.message, p.position?.line])).toEqual([
      [
        'missing-streamlets',
        'blueprint',
        'blueprint has no "streamlets" section: name each streamlet and its class, e.g. streamlets { ingress = package.Class }',
        1,
      ],
    ]);
  });

  it('invalid-name, for streamlets and topics', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { Data_Ingress = test.Source, "my.fmt" = test.Formatter }
  topics { Readings { producers = [Data_Ingress.out], consumers = ["my.fmt.in"] } }
}`),
    ).toEqual([
      `invalid-name: streamlet name "Data_Ingress" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
      `invalid-name: streamlet name "my.fmt" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
      'unconnected-inlet: inlet "my.fmt.in" is not connected: no topic feeds it',
      `invalid-name: topic name "Readings" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
      // "my.fmt.in" reads as streamlet "my", port "fmt.in": names with dots cannot be referenced.
      'unknown-streamlet: "my.fmt.in": no streamlet named "my" in this blueprint (streamlets: Data_Ingress, my.fmt)',
    ]);
  });

  it('invalid-value and unknown-key', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { a = test.Source, b = 42 }
  conections { a.out = [b.in] }
  topics {
    t { producers = a.out, consumer = [b.in] }
    u = [a.out]
  }
  modules { x = [] }
}`),
    ).toEqual([
      'invalid-value: streamlet "b" must name a class such as package.Class, found a number 42',
      'unknown-key: unknown key "conections" in blueprint (expected: streamlets, connections, topics, modules)',
      'invalid-value: producers of topic "t" must be a list of ports such as [streamlet.port], found a string "a.out"',
      'unknown-key: unknown key "consumer" in topic "t" (expected: producers, consumers)',
      'invalid-value: topic "u" must be an object such as { producers = [a.out], consumers = [b.in] }, found a list',
      'invalid-value: module of package "x" must be a path such as "./streamlets.js", found a list',
    ]);
  });

  it('malformed-port, for producers and consumers', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { a = test.Source, b = test.Formatter, s = test.TextSink }
  connections {
    fmt = [s.in]
    a.out = [b, ".in", b.in]
  }
}`),
    ).toEqual([
      'malformed-port: "fmt" is not a port reference: write streamlet.port, e.g. fmt.out',
      'malformed-port: "b" is not a port reference: write streamlet.port, e.g. b.in',
      'malformed-port: ".in" is not a port reference: write streamlet.port, e.g. streamlet.in',
    ]);
  });

  it('duplicate-streamlet: HOCON keeps only the last value, but the document lists every definition', async () => {
    const text = `blueprint {
  streamlets {
    src = test.Source
    fmt = test.Formatter
    src = test.Merger
  }
  streamlets.fmt = test.Formatter
}`;
    const { problems } = read(text);
    expect(problems.map((p) => [p.rule, p.key, p.message, p.position?.line])).toEqual([
      ['duplicate-streamlet', 'blueprint.streamlets.src', 'streamlet "src" is defined again (first at line 3); names must be unique', 5],
      ['duplicate-streamlet', 'blueprint.streamlets.fmt', 'streamlet "fmt" is defined again (first at line 4); names must be unique', 7],
    ]);
  });

  it('duplicate-topic: across the two forms, and repeated topics', async () => {
    const text = `blueprint {
  streamlets { src = test.Source, fmt = test.Formatter, sink = test.TextSink, m = test.Merger }
  connections {
    src.out = [fmt.in]
    fmt.out = [sink.in]
    "src.out" = [m.in-0]
  }
  topics {
    src-out { producers = [src.out], consumers = [m.in-1] }
    other { producers = [m.out] }
    other { producers = [m.out] }
  }
}`;
    const { problems } = read(text);
    expect(problems.map((p) => [p.rule, p.key, p.message, p.position?.line])).toEqual([
      // "src.out" is one key, src.out two: HOCON keeps both, and both name topic src-out.
      ['duplicate-topic', 'blueprint.connections."src.out"', 'topic "src-out" is defined twice: by connection src.out (line 4) and by connection "src.out"', 6],
      ['duplicate-topic', 'blueprint.topics.src-out', 'topic "src-out" is defined twice: by connection src.out (line 4) and by topics.src-out', 9],
      ['duplicate-topic', 'blueprint.topics.other', 'topic "other" is defined again (first at line 10); names must be unique', 11],
    ]);
  });

  it('duplicate-topic: a connection written twice', async () => {
    const { problems } = read(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter, m = test.Merger }
  connections {
    src.out = [fmt.in]
    src.out = [m.in-0]
  }
}`);
    expect(problems.map((p) => [p.rule, p.key, p.message, p.position?.line])).toEqual([
      ['duplicate-topic', 'blueprint.connections."src.out"', 'connection src.out is defined again (first at line 4); names must be unique', 5],
    ]);
  });

  it('duplicates set by an included file, named with the file of the first definition', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-blueprint-'));
    try {
      const main = path.join(dir, 'blueprint.conf');
      writeFileSync(path.join(dir, 'more-streamlets.conf'), 'm = test.Merger\nfmt = test.Formatter\n');
      writeFileSync(path.join(dir, 'more-wiring.conf'), 'connections { src.out = [m.in-0] }\ntopics.text { consumers = [m.in-1] }\n');
      const text = `blueprint {
  streamlets {
    src = test.Source
    fmt = test.Formatter
    include "more-streamlets.conf"
  }
  connections { src.out = [fmt.in] }
  topics {
    text { producers = [fmt.out] }
  }
  include "more-wiring.conf"
}`;
      const { problems } = readBlueprint(parseHocon(text, { file: main }), { file: main });
      expect(problems.map((p) => formatProblem(p))).toEqual([
        `${path.join(dir, 'more-streamlets.conf')}:2:1: streamlet "fmt" is defined again (first at ${main}:4); names must be unique`,
        `${path.join(dir, 'more-wiring.conf')}:1:15: connection src.out is defined again (first at ${main}:7); names must be unique`,
        `${path.join(dir, 'more-wiring.conf')}:2:1: topic "text" is defined again (first at ${main}:9); names must be unique`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no duplicate: += appends, dotted keys of one topic, and a name set once', () => {
    const { problems } = read(`blueprint {
  streamlets { src = test.Source, fmt = test.Formatter, m = test.Merger }
  connections {
    src.out = [fmt.in]
    src.out += m.in-0
  }
  topics {
    text.producers = [fmt.out]
    text.consumers = [m.in-1]
  }
  topics.text.consumers += m.in-1
}`);
    expect(problems).toEqual([]);
  });

  it('no-producer', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { fmt = test.Formatter, src = test.Source }
  topics {
    readings { consumers = [fmt.in] }
    spare { producers = [], consumers = [] }
    ok { producers = [src.out] }
  }
}`),
    ).toEqual([
      'no-producer: topic "readings" has no producers: list at least one outlet, e.g. producers = [streamlet.out]',
      'no-producer: topic "spare" has no producers: list at least one outlet, e.g. producers = [streamlet.out]',
    ]);
  });

  it('dead-letters-producer', async () => {
    expect(
      await problemsOf(`blueprint {
  streamlets { src = test.Source, dlq = test.DeadLetterSink }
  topics { dead-letters { producers = [src.out], consumers = [dlq.in] } }
}`),
    ).toEqual(['dead-letters-producer: topic "dead-letters" is written by the runtime: it takes consumers only, remove its producers']);
  });
});
