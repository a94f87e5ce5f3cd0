import { describe, expect, it } from 'vitest';
import { scanKeyDefinitions } from '../../src/blueprint/definitions.js';

const scan = (text: string) => scanKeyDefinitions(text).map((d) => `${d.line}:${d.column} ${d.kind}${d.append ? '+=' : ''} ${JSON.stringify(d.path)}`);

describe('scanKeyDefinitions', () => {
  it('lists every definition, repeated keys included, with dotted and quoted keys split as HOCON does', () => {
    expect(
      scan(`blueprint {
  streamlets {
    a = x.A   // a comment with { braces
    "b.c" = x.B
    a: x.C
  }
  connections.a.out = [b.in, "c.in}"]
}
blueprint.streamlets.d = x.D`),
    ).toEqual([
      '1:1 object ["blueprint"]',
      '2:3 object ["blueprint","streamlets"]',
      '3:5 value ["blueprint","streamlets","a"]',
      '4:5 value ["blueprint","streamlets","b.c"]',
      '5:5 value ["blueprint","streamlets","a"]',
      '7:3 value ["blueprint","connections","a","out"]',
      '9:1 value ["blueprint","streamlets","d"]',
    ]);
  });

  it('skips values: lists with objects, multi-line strings, substitutions, includes; notes +=', () => {
    expect(
      scan(`{
  include "other.conf"
  list = [
    { hidden = 1 },
    2
  ]
  text = """a { b = 1 }
  still = text"""
  ref = \${list} # comment
  list += 3
  obj = { inner { deep = true } }, next = 1
}`),
    ).toEqual([
      '3:3 value ["list"]',
      '7:3 value ["text"]',
      '9:3 value ["ref"]',
      '10:3 value+= ["list"]',
      '11:3 object ["obj"]',
      '11:11 object ["obj","inner"]',
      '11:19 value ["obj","inner","deep"]',
      '11:36 value ["next"]',
    ]);
  });
});
