/**
 * Sluice's own HOCON parser (https://github.com/lightbend/config/blob/master/HOCON.md), in three
 * steps: a tokenizer; a parser that builds a tree of nodes carrying source positions (includes
 * are read and spliced in while parsing); and a resolver that merges duplicate keys and resolves
 * substitutions lazily, so that every key of the result knows where it was set (and every
 * place it was set: HOCON merges a repeated key silently, `definitions` still lists each).
 *
 * Safety: nothing here runs code or touches the network. An include may only name a local
 * `.conf`, `.json` or `.properties` file; `url()`, `classpath()`, any URL scheme and any other
 * extension are refused. There are no `|` transforms: as the spec says, `|` is an ordinary
 * character of an unquoted string.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError, messageOf } from './errors.js';

/** 1-based line and column; `file` is the path given, or `<text>`. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * One place a key was set: `value` for `key = value` or `key: value`, `object` for a value
 * written as an object (`key { ... }`, `key = { ... }`), `append` for `key += value`.
 */
export interface KeyDefinition extends SourcePosition {
  readonly kind: 'value' | 'object' | 'append';
}

export type HoconValue = string | number | boolean | null | HoconValue[] | { [key: string]: HoconValue };

export interface HoconDocument {
  /** The fully resolved root object (plain JSON data). */
  readonly value: { [key: string]: HoconValue };
  /**
   * Where a key path was last set, e.g. `position('blueprint.streamlets.data-ingress')` or
   * `position(['blueprint', 'streamlets', 'data-ingress'])`. A string is read as a HOCON path
   * (`a."b.c"` is two keys); array elements are addressed by their index (`['list', '0']`).
   */
  position(path: string | readonly string[]): SourcePosition | undefined;
  /**
   * Every position where the key at `path` was set, oldest first, includes counted (and, for
   * mergeDocuments, across layers): HOCON keeps only the merged result, so this is how to find a
   * key set twice. A dotted key `a.b = 1` sets `a.b`, not `a`; a key that is not in the value
   * (or an array element) has none. Values copied by a substitution keep their definitions.
   */
  definitions(path: string | readonly string[]): readonly KeyDefinition[];
}

export interface ParseOptions {
  readonly file?: string;
  /** For the environment-variable fallback of `${VAR}` and `${?VAR}`; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function parseHocon(text: string, options: ParseOptions = {}): HoconDocument {
  const file = options.file ?? '<text>';
  const ctx: FileContext = {
    file,
    dir: options.file === undefined ? undefined : path.dirname(options.file),
    chain: options.file === undefined ? [] : [{ real: realPath(options.file), shown: options.file }],
    prefix: [],
  };
  const root = file.endsWith('.properties') ? parseProperties(text, file) : parseTree(text, ctx);
  return new Document(new Resolver(root, options.env ?? process.env).resolveRoot());
}

export async function parseHoconFile(file: string, options: Omit<ParseOptions, 'file'> = {}): Promise<HoconDocument> {
  return parseHocon(await readFile(file, 'utf8'), { ...options, file });
}

/** Layering: later documents win (HOCON merge of objects, replace otherwise); positions come from whichever set the value. */
export function mergeDocuments(docs: readonly HoconDocument[]): HoconDocument {
  const empty: Resolved = { kind: 'object', fields: new Map() };
  return new Document(docs.map(fromDocument).reduce(mergeResolved, empty));
}

/** Reads a HOCON path expression: `a.b."c.d"` is `['a', 'b', 'c.d']`. */
export function parsePath(text: string): string[] {
  return new Lexer(text, '<path>').pathOnly();
}

/** Writes a path back as a HOCON path expression, quoting segments that need it. */
export function formatPath(segments: readonly string[]): string {
  return segments.map((s) => (/^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s))).join('.');
}

// ---------------------------------------------------------------------------------------------
// Errors

const where = (pos: SourcePosition): string => `${pos.file}:${pos.line}:${pos.column}`;

function syntaxError(pos: SourcePosition, message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_HOCON_SYNTAX', { where: where(pos), message });
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

type Punct = '{' | '}' | '[' | ']' | ',' | ':' | '=' | '+=';
type Token =
  | { readonly kind: Punct | 'newline' | 'eof'; readonly pos: SourcePosition }
  | { readonly kind: 'space' | 'unquoted' | 'quoted'; readonly text: string; readonly pos: SourcePosition }
  | { readonly kind: 'subst'; readonly path: string[]; readonly optional: boolean; readonly text: string; readonly pos: SourcePosition };
type Piece = Extract<Token, { kind: 'space' | 'unquoted' | 'quoted' }>;

/** Characters the spec forbids in unquoted strings (besides whitespace and `//`). */
const FORBIDDEN = new Set('$"{}[]:=,+#`^?!@*&\\');
const WHITESPACE = /[\s\u001c-\u001f]/; // JS \s covers the Unicode separators and the BOM
const isSpace = (c: string): boolean => c !== '\n' && WHITESPACE.test(c);
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

class Lexer {
  private i = 0;
  private line = 1;
  private column = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  tokens(): Token[] {
    const out: Token[] = [];
    const { text } = this;
    while (this.i < text.length) {
      const c = text[this.i] ?? '';
      const pos = this.pos();
      if (c === '\n') {
        this.advance(1);
        out.push({ kind: 'newline', pos });
      } else if (isSpace(c)) {
        out.push({ kind: 'space', text: this.spaces(), pos });
      } else if (c === '#' || text.startsWith('//', this.i)) {
        while (this.i < text.length && text[this.i] !== '\n') this.advance(1);
      } else if (c === '"') {
        out.push({ kind: 'quoted', text: this.quoted(), pos });
      } else if (c === '$') {
        out.push(this.substitution());
      } else if ('{}[],:='.includes(c)) {
        this.advance(1);
        out.push({ kind: c as Punct, pos });
      } else if (text.startsWith('+=', this.i)) {
        this.advance(2);
        out.push({ kind: '+=', pos });
      } else if (FORBIDDEN.has(c)) {
        throw syntaxError(pos, `unexpected character '${c}'; quote text that contains it`);
      } else {
        out.push({ kind: 'unquoted', text: this.unquoted(), pos });
      }
    }
    out.push({ kind: 'eof', pos: this.pos() });
    return out;
  }

  /** The whole text as one path expression (for {@link parsePath}). */
  pathOnly(): string[] {
    const pos = this.pos();
    return pathFromPieces(
      this.pathPieces(pos, (c) => c === undefined),
      pos,
    );
  }

  private pos(): SourcePosition {
    return { file: this.file, line: this.line, column: this.column };
  }

  private advance(n: number): void {
    for (let k = 0; k < n; k++, this.i++) {
      if (this.text[this.i] === '\n') {
        this.line++;
        this.column = 1;
      } else {
        this.column++;
      }
    }
  }

  private isUnquotedChar(): boolean {
    const c = this.text[this.i];
    return c !== undefined && !FORBIDDEN.has(c) && !WHITESPACE.test(c) && !this.text.startsWith('//', this.i);
  }

  private spaces(): string {
    const start = this.i;
    while (isSpace(this.text[this.i] ?? '\n')) this.advance(1);
    return this.text.slice(start, this.i);
  }

  /** An unquoted run; a leading number may carry an exponent sign (`1e+5`). */
  private unquoted(): string {
    const start = this.i;
    const numeric = /[0-9-]/.test(this.text[this.i] ?? '');
    const exponentSign = (): boolean => numeric && this.text[this.i] === '+' && /^-?[0-9][0-9.]*[eE]$/.test(this.text.slice(start, this.i));
    while (this.isUnquotedChar() || exponentSign()) this.advance(1);
    return this.text.slice(start, this.i);
  }

  private quoted(): string {
    const start = this.pos();
    if (this.text.startsWith('"""', this.i)) {
      const close = this.text.indexOf('"""', this.i + 3);
      if (close < 0) throw syntaxError(start, 'unterminated triple-quoted string: no closing """');
      let end = close;
      while (this.text[end + 3] === '"') end++; // extra quotes belong to the string, as in Scala
      const content = this.text.slice(this.i + 3, end);
      this.advance(end + 3 - this.i);
      return content;
    }
    this.advance(1);
    let out = '';
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined || c === '\n') {
        throw syntaxError(start, 'unterminated string: a quoted string must end on the same line (use """ for text over several lines)');
      }
      if (c === '"') {
        this.advance(1);
        return out;
      }
      if (c === '\\') {
        out += this.escape();
      } else if (c < ' ') {
        throw syntaxError(
          this.pos(),
          `control character U+${c.charCodeAt(0).toString(16).padStart(4, '0')} in a quoted string; write it as an escape such as \\t`,
        );
      } else {
        out += c;
        this.advance(1);
      }
    }
  }

  private escape(): string {
    const pos = this.pos();
    const e = this.text[this.i + 1] ?? '';
    const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    const char = simple[e];
    if (char !== undefined) {
      this.advance(2);
      return char;
    }
    const hex = this.text.slice(this.i + 2, this.i + 6);
    if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(hex)) {
      this.advance(6);
      return String.fromCharCode(parseInt(hex, 16));
    }
    throw syntaxError(pos, `invalid escape '\\${e === 'u' ? `u${hex}` : e}' in a quoted string`);
  }

  private substitution(): Token {
    const pos = this.pos();
    const startIndex = this.i;
    if (this.text[this.i + 1] !== '{') throw syntaxError(pos, "'$' must start a substitution such as ${a.b}; quote text that contains '$'");
    this.advance(2);
    const optional = this.text[this.i] === '?';
    if (optional) this.advance(1);
    const pieces = this.pathPieces(pos, (c) => c === '}');
    this.advance(1);
    const text = this.text.slice(startIndex, this.i);
    if (pieces.every((p) => p.kind === 'space')) throw syntaxError(pos, `empty substitution ${text}`);
    return { kind: 'subst', path: pathFromPieces(pieces, pos), optional, text, pos };
  }

  private pathPieces(start: SourcePosition, isEnd: (c: string | undefined) => boolean): Piece[] {
    const pieces: Piece[] = [];
    for (;;) {
      const c = this.text[this.i];
      if (isEnd(c)) return pieces;
      const pos = this.pos();
      if (c === undefined || c === '\n') throw syntaxError(start, "unterminated substitution: no closing '}' on the same line");
      if (isSpace(c)) pieces.push({ kind: 'space', text: this.spaces(), pos });
      else if (c === '"') pieces.push({ kind: 'quoted', text: this.quoted(), pos });
      else if (this.isUnquotedChar()) pieces.push({ kind: 'unquoted', text: this.unquoted(), pos });
      else throw syntaxError(pos, `unexpected character '${c}' in a path; quote keys that contain it`);
    }
  }
}

/** Joins key pieces into path segments: `.` outside quotes separates, whitespace between pieces is kept. */
function pathFromPieces(all: readonly Piece[], pos: SourcePosition): string[] {
  let from = 0;
  let to = all.length;
  while (from < to && all[from]?.kind === 'space') from++;
  while (to > from && all[to - 1]?.kind === 'space') to--;
  const pieces = all.slice(from, to);
  const shown = pieces.map((p) => (p.kind === 'quoted' ? JSON.stringify(p.text) : p.text)).join('');
  const empty = (): SluiceError =>
    syntaxError(
      pos,
      `invalid path ${shown || '""'}: a path element is empty (write "" for an empty key; a path may not start or end with '.' or contain '..')`,
    );
  const segments: string[] = [];
  let current = '';
  let touched = false;
  for (const piece of pieces) {
    if (piece.kind !== 'unquoted') {
      current += piece.text;
      touched ||= piece.kind === 'quoted';
      continue;
    }
    piece.text.split('.').forEach((part, index) => {
      if (index > 0) {
        if (!touched) throw empty();
        segments.push(current);
        current = '';
        touched = false;
      }
      current += part;
      touched ||= part !== '';
    });
  }
  if (!touched) throw empty();
  segments.push(current);
  return segments;
}

// ---------------------------------------------------------------------------------------------
// Tree: what the parser builds. A key maps to the stack of its definitions, oldest first; the
// resolver folds each stack (object merge, or the newest non-object value wins).

/**
 * `defs`: the places in the text this entry stands for, usually one; none for the object that a
 * dotted key implies (`a` in `a.b = 1`), several once consecutive object literals are merged.
 */
interface Entry {
  readonly node: Node;
  readonly pos: SourcePosition | undefined;
  readonly defs: readonly KeyDefinition[];
}
/** `raw` is the text as written (numbers concatenate as written); `ws` marks whitespace between concatenated parts. */
interface ScalarNode {
  readonly kind: 'scalar';
  readonly value: string | number | boolean | null;
  readonly raw: string;
  readonly ws: boolean;
  readonly pos: SourcePosition;
}
interface ObjectNode {
  readonly kind: 'object';
  readonly fields: Map<string, Entry[]>;
  readonly pos: SourcePosition;
}
interface ArrayNode {
  readonly kind: 'array';
  readonly items: readonly Node[];
  readonly pos: SourcePosition;
}
/** `prefix`: where the including object sits, for substitutions in included files (looked up there first). */
interface SubstNode {
  readonly kind: 'subst';
  readonly path: readonly string[];
  readonly optional: boolean;
  readonly prefix: readonly string[] | undefined;
  readonly text: string;
  readonly pos: SourcePosition;
}
/** `appendTo` is set for `key += value`, to explain type errors in its terms. */
interface ConcatNode {
  readonly kind: 'concat';
  readonly parts: readonly Node[];
  readonly appendTo: string | undefined;
  readonly pos: SourcePosition;
}
/** A value already resolved (from a substitution), merged like any other definition. */
interface ResolvedNode {
  readonly kind: 'resolved';
  readonly value: Resolved;
  readonly pos: SourcePosition | undefined;
}
type Node = ScalarNode | ObjectNode | ArrayNode | SubstNode | ConcatNode | ResolvedNode;

function addField(object: ObjectNode, key: readonly string[], node: Node, pos: SourcePosition, kind: KeyDefinition['kind']): void {
  let entry: Entry = { node, pos, defs: [{ ...pos, kind }] };
  for (let i = key.length - 1; i > 0; i--) {
    entry = { node: { kind: 'object', fields: new Map([[key[i] ?? '', [entry]]]), pos }, pos, defs: [] };
  }
  pushEntry(object, key[0] ?? '', entry);
}

/** Adds a definition of `key`; consecutive object literals merge at once (same result, shorter stacks). */
function pushEntry(object: ObjectNode, key: string, entry: Entry): void {
  const entries = object.fields.get(key);
  const last = entries?.[entries.length - 1];
  if (!entries) {
    object.fields.set(key, [entry]);
  } else if (last?.node.kind === 'object' && entry.node.kind === 'object') {
    for (const [k, list] of entry.node.fields) for (const e of list) pushEntry(last.node, k, e);
    entries[entries.length - 1] = { node: last.node, pos: entry.pos, defs: [...last.defs, ...entry.defs] };
  } else {
    entries.push(entry);
  }
}

function scalar(text: string, pos: SourcePosition, literal: boolean, ws = false): ScalarNode {
  let value: ScalarNode['value'] = text;
  if (literal && JSON_NUMBER.test(text)) value = Number(text);
  else if (literal && (text === 'true' || text === 'false')) value = text === 'true';
  else if (literal && text === 'null') value = null;
  return { kind: 'scalar', value, raw: text, ws, pos };
}

// ---------------------------------------------------------------------------------------------
// Parser

interface FileContext {
  readonly file: string;
  /** Directory that relative includes are resolved against; undefined for text without a file. */
  readonly dir: string | undefined;
  readonly chain: readonly { readonly real: string; readonly shown: string }[];
  /** Path of the object this file is included into ([] for the main document; undefined inside arrays). */
  readonly prefix: readonly string[] | undefined;
}

function parseTree(text: string, ctx: FileContext): ObjectNode {
  return new Parser(new Lexer(text, ctx.file).tokens(), ctx).document();
}

const INCLUDE_FORM = 'include must be followed by a quoted file name, file("...") or required(file("..."))';

function describe(t: Token): string {
  const named: Partial<Record<Token['kind'], string>> = { newline: 'a newline', eof: 'the end of the file', space: 'whitespace' };
  if (t.kind === 'unquoted') return `'${t.text}'`;
  if (t.kind === 'quoted') return JSON.stringify(t.text);
  return t.kind === 'subst' ? t.text : (named[t.kind] ?? `'${t.kind}'`);
}

class Parser {
  private i = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly ctx: FileContext,
  ) {}

  document(): ObjectNode {
    this.skip(true);
    const t = this.peek();
    if (t.kind === '[') throw syntaxError(t.pos, 'the root of a document must be an object, not an array');
    if (t.kind !== '{') return this.object('eof', this.ctx.prefix, t.pos);
    this.i++;
    const root = this.object('}', this.ctx.prefix, t.pos);
    this.skip(true);
    const after = this.peek();
    if (after.kind !== 'eof') throw syntaxError(after.pos, `unexpected ${describe(after)} after the closing '}' of the root object`);
    return root;
  }

  private peek(): Token {
    return this.tokens[Math.min(this.i, this.tokens.length - 1)] as Token;
  }

  /** Skips whitespace, and newlines too when `newlines`. */
  private skip(newlines: boolean): void {
    while (this.peek().kind === 'space' || (newlines && this.peek().kind === 'newline')) this.i++;
  }

  private object(closer: '}' | 'eof', objPath: readonly string[] | undefined, open: SourcePosition): ObjectNode {
    const node: ObjectNode = { kind: 'object', fields: new Map(), pos: open };
    for (;;) {
      this.skip(true);
      const t = this.peek();
      if (t.kind === closer) {
        this.i++;
        return node;
      }
      if (t.kind === 'eof') throw syntaxError(open, "unterminated object: this '{' has no matching '}'");
      if (t.kind === '}') throw syntaxError(t.pos, "unexpected '}' with no matching '{'");
      const what = t.kind === 'unquoted' && t.text === 'include' ? this.include(node, objPath) : this.field(node, objPath);
      this.separator(closer, what);
    }
  }

  private array(open: SourcePosition): ArrayNode {
    const items: Node[] = [];
    for (;;) {
      this.skip(true);
      const t = this.peek();
      if (t.kind === ']') {
        this.i++;
        return { kind: 'array', items, pos: open };
      }
      if (t.kind === 'eof') throw syntaxError(open, "unterminated array: this '[' has no matching ']'");
      const item = this.value(undefined);
      if (!item) throw syntaxError(t.pos, `expected an array element or ']', found ${describe(t)}`);
      items.push(item);
      this.separator(']', 'an array element');
    }
  }

  /** After a field or element: a comma and/or newlines, or the closer (left for the caller). */
  private separator(closer: '}' | ']' | 'eof', after: string): void {
    this.skip(false);
    const t = this.peek();
    if (t.kind === closer || t.kind === 'eof' || t.kind === '}' || t.kind === ']') return;
    if (t.kind === ',') {
      this.i++;
    } else if (t.kind === 'newline') {
      this.skip(true);
      if (this.peek().kind === ',') this.i++;
    } else {
      const hint = t.kind === ':' || t.kind === '=' ? ` (quote values that contain '${t.kind}')` : '';
      throw syntaxError(t.pos, `expected ',' or a newline after ${after}, found ${describe(t)}${hint}`);
    }
    this.skip(true);
    const next = this.peek();
    if (next.kind === ',') throw syntaxError(next.pos, "unexpected ',': two commas in a row");
  }

  /** Parses one field; returns what it was, for messages. */
  private field(object: ObjectNode, objPath: readonly string[] | undefined): string {
    const start = this.peek().pos;
    const pieces: Piece[] = [];
    for (let t = this.peek(); t.kind === 'space' || t.kind === 'unquoted' || t.kind === 'quoted'; t = this.peek()) {
      pieces.push(t);
      this.i++;
    }
    const sep = this.peek();
    if (sep.kind === 'subst') throw syntaxError(sep.pos, `substitutions are not allowed in keys (found ${sep.text})`);
    if (pieces.length === 0) throw syntaxError(sep.pos, `expected a key, found ${describe(sep)}`);
    const key = pathFromPieces(pieces, start);
    const name = formatPath(key);
    if (sep.kind !== '=' && sep.kind !== ':' && sep.kind !== '+=' && sep.kind !== '{') {
      const ends = sep.kind === 'newline' || sep.kind === ',' || sep.kind === '}' || sep.kind === 'eof';
      throw syntaxError(
        sep.pos,
        ends ? `key ${name} has no value: expected '=', ':' or '{' after it` : `expected '=', ':' or '{' after key ${name}, found ${describe(sep)}`,
      );
    }
    if (sep.kind !== '{') this.i++;
    this.skip(false);
    const expected = this.peek();
    this.skip(true);
    const childPath = objPath && [...objPath, ...key];
    const value = this.value(childPath);
    this.skip(false);
    const next = this.peek().kind;
    if (!value || (expected.kind === 'newline' && (next === '=' || next === ':' || next === '+='))) {
      throw syntaxError(expected.pos, `expected a value after '${sep.kind}' for key ${name}`);
    }
    const what = `the value of key ${name}`;
    if (sep.kind !== '+=') {
      const written = value.kind === 'concat' ? value.parts[0] : value;
      addField(object, key, value, start, written?.kind === 'object' ? 'object' : 'value');
      return what;
    }
    if (!childPath) throw syntaxError(sep.pos, `'+=' is not supported inside objects that are array elements (key ${name})`);
    const previous: SubstNode = { kind: 'subst', path: childPath, optional: true, prefix: undefined, text: `\${?${formatPath(childPath)}}`, pos: sep.pos };
    const appended: ArrayNode = { kind: 'array', items: [value], pos: sep.pos };
    addField(object, key, { kind: 'concat', parts: [previous, appended], appendTo: formatPath(childPath), pos: sep.pos }, start, 'append');
    return what;
  }

  /** A value: one or more parts on the same line (value concatenation). */
  private value(objPath: readonly string[] | undefined): Node | undefined {
    const parts: Exclude<Node, ResolvedNode>[] = [];
    let space: Piece | undefined;
    let firstKind: Token['kind'] | undefined;
    for (;;) {
      const t = this.peek();
      let part: Exclude<Node, ResolvedNode>;
      if (t.kind === 'space') {
        this.i++;
        if (parts.length > 0) space = t;
        continue;
      } else if (t.kind === 'unquoted' || t.kind === 'quoted') {
        this.i++;
        part = scalar(t.text, t.pos, false);
      } else if (t.kind === 'subst') {
        this.i++;
        const prefix = this.ctx.prefix && this.ctx.prefix.length > 0 ? this.ctx.prefix : undefined;
        part = { kind: 'subst', path: t.path, optional: t.optional, prefix, text: t.text, pos: t.pos };
      } else if (t.kind === '{') {
        this.i++;
        part = this.object('}', objPath, t.pos);
      } else if (t.kind === '[') {
        this.i++;
        part = this.array(t.pos);
      } else {
        break;
      }
      if (space) parts.push(scalar(space.text, space.pos, false, true));
      space = undefined;
      firstKind ??= t.kind;
      parts.push(part);
    }
    const [first] = parts;
    if (!first) return undefined;
    if (parts.length > 1) return { kind: 'concat', parts, appendTo: undefined, pos: first.pos };
    return first.kind === 'scalar' && firstKind === 'unquoted' ? scalar(first.raw, first.pos, true) : first;
  }

  private include(object: ObjectNode, objPath: readonly string[] | undefined): string {
    const keyword = this.peek();
    this.i++;
    this.skip(true);
    const words = (): string => {
      let text = '';
      for (let t = this.peek(); t.kind === 'unquoted' || t.kind === 'space'; t = this.peek()) {
        if (t.kind === 'unquoted') text += t.text;
        this.i++;
      }
      return text;
    };
    const before = words();
    const name = this.peek();
    if (name.kind !== 'quoted') throw syntaxError(keyword.pos, INCLUDE_FORM);
    this.i++;
    const after = words();
    const form = /^(?:(required)\()?(?:(file|url|classpath)\()?$/.exec(before);
    if (!form || after !== ')'.repeat(before.split('(').length - 1)) throw syntaxError(keyword.pos, INCLUDE_FORM);
    const request: IncludeRequest = { target: name.text, kind: form[2] ?? 'file', required: form[1] !== undefined, pos: keyword.pos };
    for (const root of loadInclude(request, this.ctx, objPath)) {
      for (const [key, entries] of root.fields) for (const entry of entries) pushEntry(object, key, entry);
    }
    return `include ${JSON.stringify(name.text)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Includes: local .conf, .json and .properties files only

interface IncludeRequest {
  readonly target: string;
  readonly kind: string;
  readonly required: boolean;
  readonly pos: SourcePosition;
}

const INCLUDABLE = ['.properties', '.json', '.conf']; // load order for an extensionless name: HOCON last

function loadInclude(request: IncludeRequest, ctx: FileContext, objPath: readonly string[] | undefined): ObjectNode[] {
  const { target } = request;
  const refuse = (why: string): SluiceError => new SluiceError('SLUICE_ERR_HOCON_INCLUDE_REFUSED', { where: where(request.pos), target, why });
  const onlyLocal = 'only local .conf, .json and .properties files can be included';
  if (request.kind !== 'file') throw refuse(`${request.kind}() includes are not allowed; ${onlyLocal}`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(target);
  if (scheme) throw refuse(`it is a URL (${scheme[1]}:); ${onlyLocal}`);
  const ext = path.extname(target);
  if (ext !== '' && !INCLUDABLE.includes(ext)) throw refuse(`${onlyLocal}, not ${ext} files (configuration never loads code)`);
  if (!path.isAbsolute(target) && ctx.dir === undefined) throw refuse('a relative include needs the including text to have a file name (ParseOptions.file)');
  const base = path.isAbsolute(target) ? target : path.join(ctx.dir ?? '.', target);
  const candidates = ext === '' ? INCLUDABLE.map((e) => base + e) : [base];
  const roots: ObjectNode[] = [];
  for (const file of candidates) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw refuse(`${file} cannot be read: ${messageOf(err)}`);
    }
    const real = realPath(file);
    if (ctx.chain.some((c) => c.real === real)) {
      throw refuse(`include cycle: ${[...ctx.chain.map((c) => c.shown), file].join(' -> ')}`);
    }
    const child: FileContext = { file, dir: path.dirname(file), chain: [...ctx.chain, { real, shown: file }], prefix: objPath };
    roots.push(file.endsWith('.properties') ? parseProperties(text, file) : parseTree(text, child));
  }
  if (roots.length === 0 && request.required) {
    throw refuse(`it is required but ${candidates.length > 1 ? `none of ${candidates.join(', ')} exists` : `${base} does not exist`}`);
  }
  return roots;
}

function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/** Java-style properties, simplified: `key=value` or `key: value` lines, `#`/`!` comments; values are strings. */
function parseProperties(text: string, file: string): ObjectNode {
  const root: ObjectNode = { kind: 'object', fields: new Map(), pos: { file, line: 1, column: 1 } };
  const entries: { key: string[]; value: string; pos: SourcePosition }[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const content = line.trimStart();
    if (content === '' || content.startsWith('#') || content.startsWith('!')) return;
    const pos = { file, line: index + 1, column: line.length - content.length + 1 };
    const sep = content.search(/[=:]/);
    if (sep < 0) throw syntaxError(pos, `expected key=value in a .properties file, found ${JSON.stringify(content)}`);
    const key = content.slice(0, sep).trim();
    if (key === '') throw syntaxError(pos, `missing key before '${content[sep]}'`);
    entries.push({ key: key.split('.'), value: content.slice(sep + 1).trim(), pos });
  });
  // `a=x` and `a.b=y` cannot both hold: as the spec says, the object wins.
  const parents = new Set(entries.flatMap((e) => e.key.slice(1).map((_, i) => e.key.slice(0, i + 1).join('.'))));
  for (const e of entries) {
    if (!parents.has(e.key.join('.'))) addField(root, e.key, scalar(e.value, e.pos, false), e.pos, 'value');
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// Resolver

type Resolved =
  | { readonly kind: 'scalar'; readonly value: string | number | boolean | null; readonly raw?: string }
  | { readonly kind: 'array'; readonly items: readonly Located[] }
  | { readonly kind: 'object'; readonly fields: ReadonlyMap<string, Located> };
/** `pos`: where the value was set (its newest definition, or newest object layer); `defs`: every definition of the key. */
interface Located {
  readonly value: Resolved;
  readonly pos: SourcePosition | undefined;
  readonly defs: readonly KeyDefinition[];
}
type Layer = ObjectNode | (ResolvedNode & { readonly value: { readonly kind: 'object' } });

/**
 * How a merge stack is read. `navigate` is the walk to a substitution's target: there, a
 * definition still being resolved is cut from its stack with everything newer than it, so a
 * self-reference (`path = ${path} [x]`) sees the value "below" it (`cutAt` records the
 * look-back). Below the target, meeting a definition being resolved is a cycle.
 */
interface Look {
  readonly navigate: boolean;
  cutAt?: number;
}

function layerEntries(layer: Layer, key: string): Entry[] {
  if (layer.kind === 'object') return layer.fields.get(key) ?? [];
  const field = layer.value.kind === 'object' ? layer.value.fields.get(key) : undefined;
  return field ? [{ node: { kind: 'resolved', value: field.value, pos: field.pos }, pos: field.pos, defs: field.defs }] : [];
}

function layerKeys(layer: Layer): Iterable<string> {
  return layer.kind === 'object' ? layer.fields.keys() : layer.value.kind === 'object' ? layer.value.fields.keys() : [];
}

const kindOf = (r: Resolved): string => (r.kind !== 'scalar' ? `an ${r.kind}` : r.value === null ? 'null' : `a ${typeof r.value}`);
const textOf = (r: Resolved & { kind: 'scalar' }): string => r.raw ?? String(r.value);

class Resolver {
  private readonly memo = new Map<Node, Resolved | undefined>();
  /** Substitutions and concatenations being resolved, outermost first. */
  private readonly active: Node[] = [];

  constructor(
    private readonly root: ObjectNode,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  resolveRoot(): Resolved {
    return this.mergeLayers([this.root]);
  }

  /** The newest non-object value of a stack, or the object layers above it, newest last. */
  private scan(stack: readonly Entry[], look: Look): { value?: Resolved; layers: Layer[]; pos: SourcePosition | undefined } {
    let entries = stack;
    if (look.navigate) {
      const cut = entries.findIndex((e) => this.active.includes(e.node));
      const cutNode = entries[cut]?.node;
      if (cutNode) {
        look.cutAt = Math.min(look.cutAt ?? Infinity, this.active.indexOf(cutNode));
        entries = entries.slice(0, cut);
      }
    }
    const layers: Layer[] = [];
    let pos: SourcePosition | undefined;
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i] as Entry;
      const got = this.contribution(entry.node);
      if (got === undefined) continue; // an undefined ${?x}: the field is not set
      if ('layer' in got) {
        layers.unshift(got.layer);
        pos ??= entry.pos;
        continue;
      }
      if (layers.length === 0) return { value: got.value, layers, pos: entry.pos };
      break; // a non-object hides everything older than it
    }
    return { layers, pos };
  }

  private contribution(node: Node): { layer: Layer } | { value: Resolved } | undefined {
    switch (node.kind) {
      case 'object':
        return { layer: node };
      case 'scalar':
        return { value: { kind: 'scalar', value: node.value, raw: node.raw } };
      case 'array':
        return {
          value: { kind: 'array', items: node.items.flatMap((item) => this.fold([{ node: item, pos: item.pos, defs: [] }], { navigate: false }) ?? []) },
        };
      case 'resolved':
        return node.value.kind === 'object' ? { layer: node as Layer } : { value: node.value };
      case 'subst':
      case 'concat': {
        if (this.active.includes(node)) throw this.cycle(this.active.indexOf(node), false);
        const value = this.resolve(node);
        if (value === undefined) return undefined;
        return value.kind === 'object' ? { layer: { kind: 'resolved', value, pos: node.pos } } : { value };
      }
    }
  }

  /** The value of a stack; its definitions are all of the stack's, those hidden by a newer value included. */
  private fold(stack: readonly Entry[], look: Look): Located | undefined {
    const { value, layers, pos } = this.scan(stack, look);
    const defs = joinDefinitions(stack.map((entry) => entry.defs));
    if (value) return { value, pos, defs };
    return layers.length > 0 ? { value: this.mergeLayers(layers), pos, defs } : undefined;
  }

  private mergeLayers(layers: readonly Layer[]): Resolved {
    const fields = new Map<string, Located>();
    const keys = new Set(layers.flatMap((layer) => [...layerKeys(layer)]));
    for (const key of keys) {
      const field = this.fold(
        layers.flatMap((layer) => layerEntries(layer, key)),
        { navigate: false },
      );
      if (field) fields.set(key, field);
    }
    return { kind: 'object', fields };
  }

  private resolve(node: SubstNode | ConcatNode): Resolved | undefined {
    if (this.memo.has(node)) return this.memo.get(node);
    this.active.push(node);
    try {
      const value = node.kind === 'subst' ? this.substitute(node) : this.concatenate(node);
      this.memo.set(node, value);
      return value;
    } finally {
      this.active.pop();
    }
  }

  private lookup(target: readonly string[], look: Look): Located | undefined {
    let stack: readonly Entry[] = [{ node: this.root, pos: undefined, defs: [] }];
    for (const key of target) {
      const { value, layers } = this.scan(stack, look);
      if (value || layers.length === 0) return undefined;
      stack = layers.flatMap((layer) => layerEntries(layer, key));
    }
    return this.fold(stack, look);
  }

  private substitute(node: SubstNode): Resolved | undefined {
    let cutAt: number | undefined;
    for (const target of node.prefix ? [[...node.prefix, ...node.path], node.path] : [node.path]) {
      const look: Look = { navigate: true };
      const found = this.lookup(target, look);
      if (found) return found.value;
      if (look.cutAt !== undefined) cutAt = Math.min(cutAt ?? Infinity, look.cutAt);
    }
    const variable = node.path.join('.');
    const fromEnv = this.env[variable];
    if (fromEnv !== undefined && fromEnv !== '') return { kind: 'scalar', value: fromEnv };
    if (node.optional) return undefined;
    if (cutAt !== undefined) throw this.cycle(cutAt, true);
    throw syntaxError(node.pos, `undefined substitution ${node.text}: there is no key ${formatPath(node.path)} and no environment variable ${variable}`);
  }

  private cycle(from: number, lookedBack: boolean): SluiceError {
    const chain = this.active.slice(from).filter((n): n is SubstNode => n.kind === 'subst');
    const last = chain[chain.length - 1];
    const first = chain[0];
    if (!first || !last) return syntaxError(this.root.pos, 'substitution cycle');
    if (chain.length === 1) {
      return syntaxError(
        first.pos,
        lookedBack
          ? `cannot resolve ${first.text}: it refers to its own key ${formatPath(first.path)}, which has no earlier value`
          : `substitution cycle: ${first.text} refers to a value that contains ${first.text} itself`,
      );
    }
    const steps = chain.map((n) => `${n.text} (${where(n.pos)})`);
    return syntaxError(last.pos, `substitution cycle: ${[...steps, first.text].join(' -> ')}`);
  }

  private concatenate(node: ConcatNode): Resolved | undefined {
    const parts: { value: Resolved; ws: boolean }[] = [];
    for (const part of node.parts) {
      const ws = part.kind === 'scalar' && part.ws;
      const got = this.fold([{ node: part, pos: part.pos, defs: [] }], { navigate: false });
      if (got) parts.push({ value: got.value, ws });
    }
    const solid = parts.filter((p) => !p.ws).map((p) => p.value);
    const [first] = solid;
    if (!first) return undefined; // only undefined ${?x}: the field is not set
    const odd = solid.find((v) => v.kind !== first.kind);
    if (odd) {
      const message = node.appendTo
        ? `'+=' appends to an array, but ${node.appendTo} is ${kindOf(first)}`
        : `cannot concatenate ${kindOf(first)} with ${kindOf(odd)}: a value concatenation must be all simple values, all arrays or all objects`;
      throw syntaxError(node.pos, message);
    }
    if (first.kind === 'array') return { kind: 'array', items: solid.flatMap((v) => (v.kind === 'array' ? v.items : [])) };
    if (first.kind === 'object') return solid.reduce(mergeResolved);
    return { kind: 'scalar', value: parts.map((p) => (p.value.kind === 'scalar' ? textOf(p.value) : '')).join('') };
  }
}

function mergeResolved(older: Resolved, newer: Resolved): Resolved {
  if (older.kind !== 'object' || newer.kind !== 'object') return newer;
  const fields = new Map(older.fields);
  for (const [key, field] of newer.fields) {
    const before = fields.get(key);
    fields.set(key, before ? { value: mergeResolved(before.value, field.value), pos: field.pos, defs: joinDefinitions([before.defs, field.defs]) } : field);
  }
  return { kind: 'object', fields };
}

/**
 * Definition lists joined, oldest first, each definition once: a self-reference such as
 * `a = ${a} { y = 1 }` brings back the definitions of `a`'s fields, which are already counted.
 */
function joinDefinitions(lists: readonly (readonly KeyDefinition[])[]): readonly KeyDefinition[] {
  return lists.length === 1 ? (lists[0] ?? []) : [...new Set(lists.flat())];
}

// ---------------------------------------------------------------------------------------------
// Documents

class Document implements HoconDocument {
  readonly value: { [key: string]: HoconValue };
  private readonly positions = new Map<string, SourcePosition>();
  private readonly defs = new Map<string, readonly KeyDefinition[]>();

  constructor(root: Resolved) {
    const value = this.plain(root, []);
    this.value = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
  }

  position(at: string | readonly string[]): SourcePosition | undefined {
    return this.positions.get(formatPath(typeof at === 'string' ? parsePath(at) : at));
  }

  definitions(at: string | readonly string[]): readonly KeyDefinition[] {
    return this.defs.get(formatPath(typeof at === 'string' ? parsePath(at) : at)) ?? [];
  }

  private plain(r: Resolved, at: readonly string[]): HoconValue {
    const child = (key: string, field: Located): HoconValue => {
      const p = [...at, key];
      if (field.pos) this.positions.set(formatPath(p), field.pos);
      if (field.defs.length > 0) this.defs.set(formatPath(p), field.defs);
      return this.plain(field.value, p);
    };
    if (r.kind === 'scalar') return r.value;
    if (r.kind === 'array') return r.items.map((item, index) => child(String(index), item));
    const out: { [key: string]: HoconValue } = {};
    for (const [key, field] of r.fields) {
      // defineProperty, so that a key named __proto__ stays a plain key
      Object.defineProperty(out, key, { value: child(key, field), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}

function fromDocument(doc: HoconDocument): Resolved {
  const walk = (v: HoconValue, at: readonly string[]): Resolved => {
    const located = (key: string, x: HoconValue): Located => {
      const p = [...at, key];
      return { value: walk(x, p), pos: doc.position(p), defs: doc.definitions(p) };
    };
    if (Array.isArray(v)) return { kind: 'array', items: v.map((x, i) => located(String(i), x)) };
    if (v !== null && typeof v === 'object') return { kind: 'object', fields: new Map(Object.entries(v).map(([k, x]) => [k, located(k, x)])) };
    return { kind: 'scalar', value: v };
  };
  return walk(doc.value, []);
}
