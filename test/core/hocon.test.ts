import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSluiceError, type SluiceError } from '../../src/core/errors.js';
import { formatPath, mergeDocuments, parseHocon, parseHoconFile, parsePath, type HoconDocument } from '../../src/core/hocon.js';

const parse = (text: string, env: Record<string, string> = {}): HoconDocument => parseHocon(text, { file: 'test.conf', env });
const value = (text: string, env: Record<string, string> = {}) => parse(text, env).value;

function failure(run: () => unknown): SluiceError {
  try {
    run();
  } catch (err) {
    if (isSluiceError(err)) return err;
    throw err;
  }
  throw new Error('expected a SluiceError');
}

/** The message of the syntax error `text` raises. */
function syntaxError(text: string, env: Record<string, string> = {}): string {
  const err = failure(() => parse(text, env));
  expect(err.code).toBe('SLUICE_ERR_HOCON_SYNTAX');
  return err.message;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-hocon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes files under a fresh directory; returns a function giving their paths. */
function files(contents: Record<string, string>): (name: string) => string {
  const root = mkdtempSync(path.join(dir, 'case-'));
  for (const [name, text] of Object.entries(contents)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return (name) => path.join(root, name);
}

const parseAt = (file: string, text: string): HoconDocument => parseHocon(text, { file, env: {} });

describe('HOCON syntax', () => {
  it('reads a blueprint with unquoted values and dotted keys', () => {
    const doc = parse(`
blueprint {
  streamlets {
    data-ingress  = recommender.DataIngress
    model-serving = recommender.ModelServing
  }
  connections {
    data-ingress.out  = [model-serving.in-0]
  }
}`);
    expect(doc.value).toEqual({
      blueprint: {
        streamlets: { 'data-ingress': 'recommender.DataIngress', 'model-serving': 'recommender.ModelServing' },
        connections: { 'data-ingress': { out: ['model-serving.in-0'] } },
      },
    });
  });

  it('accepts root braces or none, =, : and { without a separator', () => {
    expect(value('{ "a": 1, "b": { "c": [true, null] } }')).toEqual({ a: 1, b: { c: [true, null] } });
    expect(value('a = 1\nb : 2\nc { d = 3 }')).toEqual({ a: 1, b: 2, c: { d: 3 } });
    expect(value('')).toEqual({});
  });

  it('separates fields and elements by commas or newlines, with one trailing comma allowed', () => {
    expect(value('a = 1, b = 2,\nc = 3\n, d = 4')).toEqual({ a: 1, b: 2, c: 3, d: 4 });
    expect(value('a = [1,2,3,]\nb = [\n1\n2\n3\n]')).toEqual({ a: [1, 2, 3], b: [1, 2, 3] });
  });

  it('ignores # and // comments', () => {
    expect(value('# top\na = 1 // one\n// b = 2\nc = "# not // a comment" # c')).toEqual({ a: 1, c: '# not // a comment' });
  });

  it('reads quoted strings with JSON escapes and triple-quoted strings verbatim', () => {
    expect(value('a = "x\\ty\\u0041\\n\\"\\\\"')).toEqual({ a: 'x\tyA\n"\\' });
    expect(value('a = """line 1\n  "line" 2\\n"""')).toEqual({ a: 'line 1\n  "line" 2\\n' });
    expect(value('a = """x""""')).toEqual({ a: 'x"' });
  });

  it('follows the unquoted string rules', () => {
    expect(value('a = 10s\nb = 512MiB\nc = /tmp/x\nd = recommender.DataIngress\ne = model-serving.in-0\nf = 2024-01-01')).toEqual({
      a: '10s',
      b: '512MiB',
      c: '/tmp/x',
      d: 'recommender.DataIngress',
      e: 'model-serving.in-0',
      f: '2024-01-01',
    });
    expect(value('a = truefoo\nb = footrue\nc = include')).toEqual({ a: 'truefoo', b: 'footrue', c: 'include' });
  });

  it('reads numbers, booleans and null, but only as a whole value', () => {
    expect(value('a = 42, b = -1.5, c = 1e5, d = 1e+2, e = true, f = false, g = null, h = 01')).toEqual({
      a: 42,
      b: -1.5,
      c: 100000,
      d: 100,
      e: true,
      f: false,
      g: null,
      h: '01',
    });
    expect(value('a = "42", b = "true"')).toEqual({ a: '42', b: 'true' });
  });

  it('treats | as an ordinary character: there are no transforms', () => {
    expect(value('a = foo | bar\nb = x|y')).toEqual({ a: 'foo | bar', b: 'x|y' });
  });

  it('expands dotted keys; a quoted "a.b" is one key', () => {
    expect(value('a.b.c = 1\n"a.b" = 2\na."x.y".z = 3')).toEqual({ a: { b: { c: 1 }, 'x.y': { z: 3 } }, 'a.b': 2 });
    expect(value('a b c = 1\ntrue = 2\n3.14 = 3\nfoo"10.0" = 4\nx."".y = 5')).toEqual({
      'a b c': 1,
      true: 2,
      3: { 14: 3 },
      'foo10.0': 4,
      x: { '': { y: 5 } },
    });
  });

  it('merges duplicate object keys; a later non-object replaces', () => {
    expect(value('a { x = 1 }\na { y = 2 }\na.z = 3')).toEqual({ a: { x: 1, y: 2, z: 3 } });
    expect(value('a { x = 1 }\na = 5')).toEqual({ a: 5 });
    expect(value('a = 5\na { x = 1 }')).toEqual({ a: { x: 1 } });
    expect(value('foo { a = 42 }\nfoo = null\nfoo { b = 43 }')).toEqual({ foo: { b: 43 } });
  });

  it('concatenates strings keeping inner whitespace, arrays, and objects', () => {
    expect(value('a =   foo bar  baz  \nb = "x" y 1.50 true')).toEqual({ a: 'foo bar  baz', b: 'x y 1.50 true' });
    expect(value('a = [1, 2] [3]\nb = { x = 1 } { y = 2 }')).toEqual({ a: [1, 2, 3], b: { x: 1, y: 2 } });
    expect(value('a = [ 1 2 3 ]\nb = [ [1] [2]\n [3] ]')).toEqual({ a: ['1 2 3'], b: [[1, 2], [3]] });
  });

  it('accepts a UTF-8 BOM and CRLF line ends', () => {
    expect(value('\ufeffa = 1\r\nb = x\r\n')).toEqual({ a: 1, b: 'x' });
  });
});

describe('HOCON substitutions', () => {
  it('resolves against the whole merged document, looking forward', () => {
    expect(value('a = ${b.c}\nb.c = 1\nb.c = 2\nd = ${b}')).toEqual({ a: 2, b: { c: 2 }, d: { c: 2 } });
  });

  it('keeps the type of a lone substitution and concatenates otherwise', () => {
    expect(value('n = 5\nx = null\na = ${n}\nb = port ${n}/s\nc = ${x} y\nd = ${x}\ne = "${n}"')).toEqual({
      n: 5,
      x: null,
      a: 5,
      b: 'port 5/s',
      c: 'null y',
      d: null,
      e: '${n}',
    });
  });

  it('drops fields and elements whose optional substitution is undefined', () => {
    expect(value('a = ${?nope}\nb = 1\nb = ${?nope}\nc = [1, ${?nope}, 2]\nd = x${?nope}\ne = ${?nope}${?nope2}')).toEqual({
      b: 1,
      c: [1, 2],
      d: 'x',
    });
  });

  it('falls back to environment variables, unless the document sets the key', () => {
    const env = { HOME: '/home/me', EMPTY: '' };
    expect(value('h = ${HOME}\ni = ${?HOME}/bin\nj = ${?EMPTY}', env)).toEqual({ h: '/home/me', i: '/home/me/bin' });
    expect(value('HOME = null\nh = ${HOME}', env)).toEqual({ HOME: null, h: null });
    const doc = parseHocon('u = ${USER_FOR_TEST}', { env: { USER_FOR_TEST: 'x' } });
    expect(doc.value).toEqual({ u: 'x' });
  });

  it('uses process.env by default', () => {
    process.env.SLUICE_HOCON_TEST = 'from-env';
    try {
      expect(parseHocon('a = ${SLUICE_HOCON_TEST}').value).toEqual({ a: 'from-env' });
    } finally {
      delete process.env.SLUICE_HOCON_TEST;
    }
  });

  it('lets a field build on its earlier value (self-reference) and += append', () => {
    expect(value('path = [/bin]\npath = ${path} [/usr/bin]\npath += /opt/bin')).toEqual({ path: ['/bin', '/usr/bin', '/opt/bin'] });
    expect(value('p = "a:b"\np = ${p}":c"')).toEqual({ p: 'a:b:c' });
    expect(value('x { list += 1 }\nx.list += 2')).toEqual({ x: { list: [1, 2] } });
    expect(value('a = ${?a}foo')).toEqual({ a: 'foo' });
    expect(value('foo { a { c = 1 } }\nfoo = ${foo.a}\nfoo { a = 2 }')).toEqual({ foo: { a: 2, c: 1 } });
    expect(value('foo = ${?foo}')).toEqual({});
  });

  it('lets objects refer to their own fields and to each other', () => {
    expect(value('bar { foo = 42, baz = ${bar.foo} }\nbar { foo = 43 }')).toEqual({ bar: { foo: 43, baz: 43 } });
    expect(value('bar { a = ${foo.d}, b = 1 }\nbar.b = 3\nfoo { c = ${bar.b}, d = 2 }\nfoo.d = 4')).toEqual({
      bar: { a: 4, b: 3 },
      foo: { c: 3, d: 4 },
    });
    expect(value('generic { size = 6 }\neast = ${generic} { name = east }')).toEqual({ generic: { size: 6 }, east: { size: 6, name: 'east' } });
  });

  it('never evaluates a substitution hidden by a later value', () => {
    expect(value('foo = ${does-not-exist}\nfoo = 42\nbar = ${bar}\nbar = 1')).toEqual({ foo: 42, bar: 1 });
  });

  it('reports undefined substitutions', () => {
    expect(syntaxError('a = 1\nb = ${x.y}')).toBe('test.conf:2:5: undefined substitution ${x.y}: there is no key x.y and no environment variable x.y');
  });

  it('detects cycles with a clear error', () => {
    expect(syntaxError('a = ${b}\nb = ${c}\nc = ${a}')).toBe(
      'test.conf:3:5: substitution cycle: ${b} (test.conf:1:5) -> ${c} (test.conf:2:5) -> ${a} (test.conf:3:5) -> ${b}',
    );
    expect(syntaxError('a = ${a}')).toBe('test.conf:1:5: cannot resolve ${a}: it refers to its own key a, which has no earlier value');
    expect(syntaxError('a = ${a} x')).toBe('test.conf:1:5: cannot resolve ${a}: it refers to its own key a, which has no earlier value');
    expect(syntaxError('a { b = ${a} }')).toBe('test.conf:1:9: substitution cycle: ${a} refers to a value that contains ${a} itself');
    expect(syntaxError('a = [${a}]')).toBe('test.conf:1:6: substitution cycle: ${a} refers to a value that contains ${a} itself');
  });

  it('refuses concatenations that mix kinds, and += onto a non-array', () => {
    expect(syntaxError('a = [1] x')).toBe(
      'test.conf:1:5: cannot concatenate an array with a string: a value concatenation must be all simple values, all arrays or all objects',
    );
    expect(syntaxError('o { x = 1 }\na = ${o} [2]')).toBe(
      'test.conf:2:5: cannot concatenate an object with an array: a value concatenation must be all simple values, all arrays or all objects',
    );
    expect(syntaxError('a = 1\na += 2')).toBe("test.conf:2:3: '+=' appends to an array, but a is a number");
    expect(syntaxError('l = [ { a += 1 } ]')).toBe("test.conf:1:11: '+=' is not supported inside objects that are array elements (key a)");
  });
});

describe('HOCON syntax errors', () => {
  const cases: [string, string][] = [
    ['a = {\n b = \n}', "test.conf:2:6: expected a value after '=' for key b"],
    ['a = 1\nb =\nc = 2', "test.conf:2:4: expected a value after '=' for key b"],
    ['a :', "test.conf:1:4: expected a value after ':' for key a"],
    ['a', "test.conf:1:2: key a has no value: expected '=', ':' or '{' after it"],
    ['a.b, c = 1', "test.conf:1:4: key a.b has no value: expected '=', ':' or '{' after it"],
    ['a [1]', "test.conf:1:3: expected '=', ':' or '{' after key a, found '['"],
    ['a = "abc', 'test.conf:1:5: unterminated string: a quoted string must end on the same line (use """ for text over several lines)'],
    ['a = "ab\nc"', 'test.conf:1:5: unterminated string: a quoted string must end on the same line (use """ for text over several lines)'],
    ['a = """abc', 'test.conf:1:5: unterminated triple-quoted string: no closing """'],
    ['a {\n  b = 1\n', "test.conf:1:3: unterminated object: this '{' has no matching '}'"],
    ['a = [1,\n 2', "test.conf:1:5: unterminated array: this '[' has no matching ']'"],
    ['a = ${b', "test.conf:1:5: unterminated substitution: no closing '}' on the same line"],
    ['a = ${}', 'test.conf:1:5: empty substitution ${}'],
    ['a = 1 }', "test.conf:1:7: unexpected '}' with no matching '{'"],
    ['{ a = 1 } b = 2', "test.conf:1:11: unexpected 'b' after the closing '}' of the root object"],
    ['[1, 2]', 'test.conf:1:1: the root of a document must be an object, not an array'],
    ['a = [1,,2]', "test.conf:1:8: unexpected ',': two commas in a row"],
    ['a = 1,,', "test.conf:1:7: unexpected ',': two commas in a row"],
    ['a = [,1]', "test.conf:1:6: expected an array element or ']', found ','"],
    [', a = 1', "test.conf:1:1: expected a key, found ','"],
    ['a = b = c', "test.conf:1:7: expected ',' or a newline after the value of key a, found '=' (quote values that contain '=')"],
    ['url = http://example.com', "test.conf:1:11: expected ',' or a newline after the value of key url, found ':' (quote values that contain ':')"],
    ['a = 1 2 [3]', 'test.conf:1:5: cannot concatenate a string with an array: a value concatenation must be all simple values, all arrays or all objects'],
    ['a = x@y', "test.conf:1:6: unexpected character '@'; quote text that contains it"],
    ['a = 1 + 2', "test.conf:1:7: unexpected character '+'; quote text that contains it"],
    ['a = $x', "test.conf:1:5: '$' must start a substitution such as ${a.b}; quote text that contains '$'"],
    ['a = "\\q"', "test.conf:1:6: invalid escape '\\q' in a quoted string"],
    ['a = "\t"', 'test.conf:1:6: control character U+0009 in a quoted string; write it as an escape such as \\t'],
    ['${a} = 1', 'test.conf:1:1: substitutions are not allowed in keys (found ${a})'],
    ['a..b = 1', `test.conf:1:1: invalid path a..b: a path element is empty (write "" for an empty key; a path may not start or end with '.' or contain '..')`],
    ['a. = 1', `test.conf:1:1: invalid path a.: a path element is empty (write "" for an empty key; a path may not start or end with '.' or contain '..')`],
    [
      'x = ${a..b}',
      `test.conf:1:5: invalid path a..b: a path element is empty (write "" for an empty key; a path may not start or end with '.' or contain '..')`,
    ],
    ['include foo', 'test.conf:1:1: include must be followed by a quoted file name, file("...") or required(file("..."))'],
    ['include file("a.conf"', 'test.conf:1:1: include must be followed by a quoted file name, file("...") or required(file("..."))'],
    ['include = 5', 'test.conf:1:1: include must be followed by a quoted file name, file("...") or required(file("..."))'],
  ];
  it.each(cases)('%j', (text, message) => {
    expect(syntaxError(text)).toBe(message);
  });

  it('puts the where and message in the params', () => {
    const err = failure(() => parse('a = {\n b = \n}'));
    expect(err.params).toEqual({ where: 'test.conf:2:6', message: "expected a value after '=' for key b" });
    expect(failure(() => parseHocon('a')).message).toBe("<text>:1:2: key a has no value: expected '=', ':' or '{' after it");
  });
});

describe('HOCON positions', () => {
  const doc = parse(`blueprint {
  streamlets {
    data-ingress = recommender.DataIngress
  }
  connections.data-ingress.out = [a.in, b.in]
}
"a.b" = 1
x = 1
x = 2
ref = \${blueprint.streamlets}
`);

  it('names the file, line and column where a key was last set', () => {
    expect(doc.position(['blueprint', 'streamlets', 'data-ingress'])).toEqual({ file: 'test.conf', line: 3, column: 5 });
    expect(doc.position('blueprint.streamlets.data-ingress')).toEqual({ file: 'test.conf', line: 3, column: 5 });
    expect(doc.position('blueprint')).toEqual({ file: 'test.conf', line: 1, column: 1 });
    expect(doc.position('blueprint.connections.data-ingress.out')).toEqual({ file: 'test.conf', line: 5, column: 3 });
    expect(doc.position('x')).toEqual({ file: 'test.conf', line: 9, column: 1 });
  });

  it('addresses array elements by index and quoted keys as in HOCON', () => {
    expect(doc.position(['blueprint', 'connections', 'data-ingress', 'out', '1'])).toEqual({ file: 'test.conf', line: 5, column: 41 });
    expect(doc.position('"a.b"')).toEqual({ file: 'test.conf', line: 7, column: 1 });
    expect(doc.position(['a.b'])).toEqual({ file: 'test.conf', line: 7, column: 1 });
    expect(doc.position('a.b')).toBeUndefined();
    expect(doc.position('nope')).toBeUndefined();
  });

  it('keeps positions of values copied by a substitution', () => {
    expect(doc.position('ref')).toEqual({ file: 'test.conf', line: 10, column: 1 });
    expect(doc.position('ref.data-ingress')).toEqual({ file: 'test.conf', line: 3, column: 5 });
  });

  it('writes and reads paths', () => {
    expect(parsePath('a.b."c.d"')).toEqual(['a', 'b', 'c.d']);
    expect(formatPath(['a', 'b-c_1', 'c.d', '', 'e f'])).toBe('a.b-c_1."c.d".""."e f"');
  });
});

/** A key's definitions as `line:column kind`, or `file:line:column kind` for `withFile`. */
const defs = (doc: HoconDocument, at: string | readonly string[], withFile = false): string[] =>
  doc.definitions(at).map((d) => `${withFile ? `${d.file}:` : ''}${d.line}:${d.column} ${d.kind}`);

describe('HOCON definitions', () => {
  it('lists every place a key was set, oldest first, with dotted and quoted keys split as in HOCON', () => {
    const doc = parse(`blueprint {
  streamlets {
    a = x.A   // a comment with { braces
    "b.c" = x.B
    a: x.C
  }
  connections.a.out = [b.in, "c.in}"]
}
blueprint.streamlets.d = x.D`);
    expect(defs(doc, 'blueprint')).toEqual(['1:1 object']);
    expect(defs(doc, 'blueprint.streamlets')).toEqual(['2:3 object']);
    expect(defs(doc, 'blueprint.streamlets.a')).toEqual(['3:5 value', '5:5 value']);
    expect(defs(doc, ['blueprint', 'streamlets', 'b.c'])).toEqual(['4:5 value']);
    expect(defs(doc, 'blueprint.streamlets.d')).toEqual(['9:1 value']);
    expect(defs(doc, 'blueprint.connections.a.out')).toEqual(['7:3 value']);
    // A dotted key sets its last segment only: connections and a are just opened.
    expect(defs(doc, 'blueprint.connections')).toEqual([]);
    expect(defs(doc, 'blueprint.connections.a')).toEqual([]);
    expect(defs(doc, 'nope')).toEqual([]);
    expect(doc.definitions('blueprint.streamlets.a')[1]).toEqual({ ...doc.position('blueprint.streamlets.a'), kind: 'value' });
  });

  it('tells objects, values and appends apart; strings, lists and substitutions define nothing else', () => {
    const doc = parse(`{
  list = [
    { inner = 1 },
    2
  ]
  text = """a { b = 1 }
  still = text"""
  ref = \${list} # comment
  list += 3
  obj = { inner { deep = true } }, next = 1
  obj { more = 1 }
}`);
    expect(defs(doc, 'list')).toEqual(['2:3 value', '9:3 append']);
    expect(defs(doc, 'text')).toEqual(['6:3 value']);
    expect(defs(doc, 'still')).toEqual([]);
    expect(defs(doc, 'ref')).toEqual(['8:3 value']);
    // Consecutive object literals merge at once, but each still counts.
    expect(defs(doc, 'obj')).toEqual(['10:3 object', '11:3 object']);
    expect(defs(doc, 'obj.inner')).toEqual(['10:11 object']);
    expect(defs(doc, 'obj.inner.deep')).toEqual(['10:19 value']);
    expect(defs(doc, 'next')).toEqual(['10:36 value']);
    // Array elements are not keys; keys inside them are.
    expect(defs(doc, 'list.0')).toEqual([]);
    expect(defs(doc, 'list.0.inner')).toEqual(['3:7 value']);
  });

  it('keeps the definitions of values hidden by a newer one and of values copied by a substitution, each once', () => {
    const doc = parse(`a { x = 1 }
a = 2
a { y = 2 }
a = \${a} { z = 3 }
copy = \${a}`);
    expect(defs(doc, 'a')).toEqual(['1:1 object', '2:1 value', '3:1 object', '4:1 value']);
    // x was dropped by a = 2; y came back through the self-reference, and counts once.
    expect(defs(doc, 'a.x')).toEqual([]);
    expect(defs(doc, 'a.y')).toEqual(['3:5 value']);
    expect(defs(doc, 'a.z')).toEqual(['4:12 value']);
    expect(defs(doc, 'copy')).toEqual(['5:1 value']);
    expect(defs(doc, 'copy.y')).toEqual(['3:5 value']);
  });

  it('counts keys set by included files, at their place in the including object', () => {
    const at = files({
      'main.conf': '',
      'streamlets.conf': 'fmt = test.Merger\ninclude "more.json"',
      'more.json': '{ "src": "test.Other" }',
      'extra.properties': 'blueprint.streamlets.src = test.Props',
    });
    const doc = parseAt(
      at('main.conf'),
      `blueprint.streamlets {
  src = test.Source
  fmt = test.Formatter
  include "streamlets.conf"
}
include "extra.properties"`,
    );
    expect(doc.value).toEqual({ blueprint: { streamlets: { src: 'test.Props', fmt: 'test.Merger' } } });
    expect(defs(doc, 'blueprint.streamlets.fmt', true)).toEqual([`${at('main.conf')}:3:3 value`, `${at('streamlets.conf')}:1:1 value`]);
    expect(defs(doc, 'blueprint.streamlets.src', true)).toEqual([
      `${at('main.conf')}:2:3 value`,
      `${at('more.json')}:1:3 value`,
      `${at('extra.properties')}:1:1 value`,
    ]);
  });

  it('mergeDocuments lists the definitions of every layer, oldest layer first', () => {
    const defaults = parseHocon('a { x = 1 }\nb = [1]', { file: 'defaults.conf' });
    const user = parseHocon('a { x = 2 }\na.x = 3\nb += 2', { file: 'user.conf' });
    const merged = mergeDocuments([defaults, user]);
    expect(defs(merged, 'a.x', true)).toEqual(['defaults.conf:1:5 value', 'user.conf:1:5 value', 'user.conf:2:1 value']);
    expect(defs(merged, 'a', true)).toEqual(['defaults.conf:1:1 object', 'user.conf:1:1 object']);
    // Each layer is resolved on its own: the user's += has nothing to append to there.
    expect(defs(merged, 'b', true)).toEqual(['defaults.conf:2:1 value', 'user.conf:3:1 append']);
    expect(merged.value).toEqual({ a: { x: 3 }, b: [2] });
  });
});

describe('HOCON includes', () => {
  it('includes files relative to the including file, recursively, naming their positions', () => {
    const at = files({
      'main.conf': '',
      'conf/base.conf': 'base.x = 1\ninclude "deeper/more.conf"',
      'conf/deeper/more.conf': 'more = true',
    });
    const doc = parseAt(at('main.conf'), 'include "conf/base.conf"\nbase.y = 2');
    expect(doc.value).toEqual({ base: { x: 1, y: 2 }, more: true });
    expect(doc.position('base.x')).toEqual({ file: at('conf/base.conf'), line: 1, column: 1 });
    expect(doc.position('more')).toEqual({ file: at('conf/deeper/more.conf'), line: 1, column: 1 });
    expect(doc.position('base.y')).toEqual({ file: at('main.conf'), line: 2, column: 1 });
  });

  it('supports file(...) and required(file(...)), and merges in order with the including file', () => {
    const at = files({ 'a.conf': 'a = 1\nb = 1', 'b.conf': 'b = 2' });
    expect(parseAt(at('main.conf'), 'a = 0\ninclude file("a.conf")\ninclude required(file( "b.conf" ))\nb = 3').value).toEqual({ a: 1, b: 3 });
    expect(parseAt(at('main.conf'), 'include required("b.conf")').value).toEqual({ b: 2 });
  });

  it('ignores a missing include unless it is required', () => {
    const at = files({});
    expect(parseAt(at('main.conf'), 'include "missing.conf"\na = 1').value).toEqual({ a: 1 });
    const err = failure(() => parseAt(at('main.conf'), 'a = 1\ninclude required(file("missing.conf"))'));
    expect(err.code).toBe('SLUICE_ERR_HOCON_INCLUDE_REFUSED');
    expect(err.message).toBe(`${at('main.conf')}:2:1: include of missing.conf refused: it is required but ${at('missing.conf')} does not exist`);
  });

  it('reads .json and .properties files, and all of them for a name without extension', () => {
    const at = files({
      'data.json': '{ "list": [1, 2], "nested": { "flag": true } }',
      'p.properties': '# comment\n! also a comment\nname = sluice\nport: 80\na.b = x\na = hidden by the object\n',
      'both.properties': 'k = from-properties\nonly.p = 1',
      'both.json': '{ "k": "from-json" }',
      'both.conf': 'k = from-conf',
    });
    const doc = parseAt(at('main.conf'), 'include "data.json"\ninclude "p.properties"\nsub { include "both" }');
    expect(doc.value).toEqual({
      list: [1, 2],
      nested: { flag: true },
      name: 'sluice',
      port: '80',
      a: { b: 'x' },
      sub: { k: 'from-conf', only: { p: '1' } },
    });
    expect(doc.position('port')).toEqual({ file: at('p.properties'), line: 4, column: 1 });
    expect(doc.position('list.1')).toEqual({ file: at('data.json'), line: 1, column: 15 });
  });

  it('reports a syntax error inside a .properties file with its position', () => {
    const at = files({ 'bad.properties': 'a = 1\n  just words\n' });
    expect(failure(() => parseAt(at('main.conf'), 'include "bad.properties"')).message).toBe(
      `${at('bad.properties')}:2:3: expected key=value in a .properties file, found "just words"`,
    );
  });

  it('looks substitutions of an included file up relative to where it is included first', () => {
    const at = files({ 'foo.conf': 'x = 10\ny = ${x}\nhome = ${top}\nz += 1' });
    expect(parseAt(at('main.conf'), 'top = 1\na { include "foo.conf" }\na { x = 42 }').value).toEqual({
      top: 1,
      a: { x: 42, y: 42, home: 1, z: [1] },
    });
  });

  it('detects include cycles', () => {
    const at = files({ 'a.conf': 'include "b.conf"', 'b.conf': 'include "a.conf"' });
    const err = failure(() => parseAt(at('main.conf'), 'include "a.conf"'));
    expect(err.code).toBe('SLUICE_ERR_HOCON_INCLUDE_REFUSED');
    expect(err.message).toBe(
      `${at('b.conf')}:1:1: include of a.conf refused: include cycle: ${at('main.conf')} -> ${at('a.conf')} -> ${at('b.conf')} -> ${at('a.conf')}`,
    );
  });

  it('refuses an included file whose root is an array', () => {
    const at = files({ 'list.json': '[1, 2]' });
    expect(failure(() => parseAt(at('main.conf'), 'include "list.json"')).message).toBe(
      `${at('list.json')}:1:1: the root of a document must be an object, not an array`,
    );
  });

  it('parseHoconFile reads a file and its includes', async () => {
    const at = files({ 'app.conf': 'include "other.conf"\na = ${b}', 'other.conf': 'b = 7' });
    const doc = await parseHoconFile(at('app.conf'), { env: {} });
    expect(doc.value).toEqual({ b: 7, a: 7 });
    expect(doc.position('b')).toEqual({ file: at('other.conf'), line: 1, column: 1 });
    await expect(parseHoconFile(at('missing.conf'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('HOCON include safety', () => {
  const refused = (main: string, text: string): SluiceError => {
    const err = failure(() => parseAt(main, text));
    expect(err.code).toBe('SLUICE_ERR_HOCON_INCLUDE_REFUSED');
    return err;
  };

  it('never executes an included .js file', () => {
    const marker = path.join(dir, 'evil-ran');
    const at = files({
      'evil.js': `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); globalThis.sluiceEvilRan = true;\nmodule.exports = { a: 1 };`,
    });
    const err = refused(at('main.conf'), 'include "evil.js"');
    expect(err.message).toBe(
      `${at('main.conf')}:1:1: include of evil.js refused: only local .conf, .json and .properties files can be included, not .js files (configuration never loads code)`,
    );
    expect(err.params).toMatchObject({ target: 'evil.js' });
    // a name without extension only tries .properties, .json and .conf
    expect(parseAt(at('main.conf'), 'include "evil"').value).toEqual({});
    expect(refused(at('main.conf'), 'include required("evil")').message).toBe(
      `${at('main.conf')}:1:1: include of evil refused: it is required but none of ${at('evil.properties')}, ${at('evil.json')}, ${at('evil.conf')} exists`,
    );
    expect(existsSync(marker)).toBe(false);
    expect((globalThis as { sluiceEvilRan?: boolean }).sluiceEvilRan).toBeUndefined();
  });

  it.each(['x.cjs', 'x.mjs', 'x.ts', 'x.txt', 'x.yaml', 'x.node'])('refuses %s', (target) => {
    const at = files({ [target]: 'a = 1' });
    const ext = path.extname(target);
    expect(refused(at('main.conf'), `include required(file("${target}"))`).message).toBe(
      `${at('main.conf')}:1:1: include of ${target} refused: only local .conf, .json and .properties files can be included, not ${ext} files (configuration never loads code)`,
    );
  });

  it('refuses url() and classpath() includes', () => {
    expect(refused('main.conf', 'include url("https://example.com/x.conf")').message).toBe(
      'main.conf:1:1: include of https://example.com/x.conf refused: url() includes are not allowed; only local .conf, .json and .properties files can be included',
    );
    expect(refused('main.conf', 'a = 1\ninclude required(classpath("x.conf"))').message).toBe(
      'main.conf:2:1: include of x.conf refused: classpath() includes are not allowed; only local .conf, .json and .properties files can be included',
    );
  });

  it.each(['http://example.com/x.conf', 'https://example.com/x.conf', 'file:///etc/x.conf', 'ftp://host/x.conf', 'data:text/plain,a=1'])(
    'refuses the URL %s',
    (target) => {
      const scheme = target.slice(0, target.indexOf(':'));
      expect(refused('main.conf', `include "${target}"`).message).toBe(
        `main.conf:1:1: include of ${target} refused: it is a URL (${scheme}:); only local .conf, .json and .properties files can be included`,
      );
    },
  );

  it('refuses a relative include from text that has no file', () => {
    const err = failure(() => parseHocon('include "x.conf"'));
    expect(err.code).toBe('SLUICE_ERR_HOCON_INCLUDE_REFUSED');
    expect(err.message).toBe('<text>:1:1: include of x.conf refused: a relative include needs the including text to have a file name (ParseOptions.file)');
    const at = files({ 'abs.conf': 'a = 1' });
    expect(parseHocon(`include "${at('abs.conf')}"`).value).toEqual({ a: 1 });
  });
});

describe('mergeDocuments', () => {
  it('layers documents: later wins, objects merge, positions follow the value', () => {
    const defaults = parseHocon('a { x = 1, y = [1] }\nb = 1\nc { d = 1 }', { file: 'defaults.conf' });
    const user = parseHocon('a { y = [2] }\nb { c = 1 }\nc = null', { file: 'user.conf' });
    const merged = mergeDocuments([defaults, user]);
    expect(merged.value).toEqual({ a: { x: 1, y: [2] }, b: { c: 1 }, c: null });
    expect(merged.position('a.x')).toEqual({ file: 'defaults.conf', line: 1, column: 5 });
    expect(merged.position('a.y')).toEqual({ file: 'user.conf', line: 1, column: 5 });
    expect(merged.position('a.y.0')).toEqual({ file: 'user.conf', line: 1, column: 10 });
    expect(merged.position('b.c')).toEqual({ file: 'user.conf', line: 2, column: 5 });
    expect(merged.position('a')).toEqual({ file: 'user.conf', line: 1, column: 1 });
    expect(mergeDocuments([]).value).toEqual({});
  });

  it('keeps a key named __proto__ as a plain key', () => {
    const doc = parse('"__proto__" { polluted = true }');
    expect(Object.keys(doc.value)).toEqual(['__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(doc.value)).toBe(Object.prototype);
  });
});
