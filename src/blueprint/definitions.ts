/**
 * Every place a HOCON text defines a key, in order. HOCON merges a repeated key silently (the
 * last value wins), so after parsing, `a = X` followed by `a = Y` looks like a single `a = Y`;
 * the only way to tell a user that a name is defined twice is to read the text again. This is a
 * scanner, not a parser: it follows braces, brackets, strings, comments and key paths, and
 * skips values. Keys that come from includes or substitutions are not seen.
 */

export interface KeyDefinition {
  /** The key's full path from the root, dotted keys split (`a.b = 1` inside `x {}`: x, a, b). */
  readonly path: readonly string[];
  /** `object` for `key { ... }` / `key = { ... }`, `value` for anything else. */
  readonly kind: 'object' | 'value';
  /** `key += value` appends instead of replacing. */
  readonly append: boolean;
  readonly line: number;
  readonly column: number;
}

const keyStop = new Set([' ', '\t', '\r', '\n', '{', '}', '[', ']', ':', '=', ',', '#', '"', '+', '.', '$', '?']);

export function scanKeyDefinitions(text: string): KeyDefinition[] {
  const found: KeyDefinition[] = [];
  let at = 0;
  let line = 1;
  let lineStart = 0;

  const peek = (offset = 0): string => text[at + offset] ?? '';
  const advance = (count = 1): void => {
    for (let i = 0; i < count && at < text.length; i++) {
      if (text[at] === '\n') {
        line++;
        lineStart = at + 1;
      }
      at++;
    }
  };
  const atComment = (): boolean => peek() === '#' || (peek() === '/' && peek(1) === '/');
  const skipLine = (): void => {
    while (at < text.length && peek() !== '\n') advance();
  };
  /** Skips spaces and comments; newlines and commas too when `newlines`. */
  const skipSpace = (newlines: boolean): void => {
    for (;;) {
      const c = peek();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\uFEFF') advance();
      else if (newlines && (c === '\n' || c === ',')) advance();
      else if (atComment()) skipLine();
      else return;
    }
  };
  const readQuoted = (): string => {
    if (text.startsWith('"""', at)) {
      const end = text.indexOf('"""', at + 3);
      const stop = end < 0 ? text.length : end + 3;
      const raw = text.slice(at + 3, end < 0 ? text.length : end);
      advance(stop - at);
      return raw;
    }
    const start = at;
    advance();
    while (at < text.length && peek() !== '"' && peek() !== '\n') advance(peek() === '\\' ? 2 : 1);
    advance();
    try {
      return JSON.parse(text.slice(start, at)) as string;
    } catch {
      return text.slice(start + 1, at - 1);
    }
  };
  /** Skips one value: up to the end of its line, a comma or a closing brace, over nested brackets and strings. */
  const skipValue = (): void => {
    let depth = 0;
    while (at < text.length) {
      const c = peek();
      if (c === '"') readQuoted();
      else if (atComment()) skipLine();
      else if (c === '{' || c === '[') {
        depth++;
        advance();
      } else if (c === '}' || c === ']') {
        if (depth === 0) return;
        depth--;
        advance();
      } else if (depth === 0 && (c === '\n' || c === ',')) return;
      else advance();
    }
  };

  const objects: (readonly string[])[] = [[]];
  for (;;) {
    skipSpace(true);
    if (at >= text.length) break;
    const c = peek();
    const current = objects[objects.length - 1] ?? [];
    if (c === '}') {
      if (objects.length > 1) objects.pop();
      advance();
      continue;
    }
    if (c === '{') {
      // The root object's optional braces.
      objects.push(current);
      advance();
      continue;
    }
    if (text.startsWith('include', at) && /^include\s+(["]|required\(|file\(|url\(|classpath\()/.test(text.slice(at, at + 40))) {
      skipValue();
      continue;
    }
    const keyLine = line;
    const keyColumn = at - lineStart + 1;
    const segments: string[] = [];
    let segment = '';
    let quotedSegment = false;
    while (at < text.length) {
      const k = peek();
      if (k === '"') {
        segment += readQuoted();
        quotedSegment = true;
      } else if (k === '.') {
        segments.push(segment);
        segment = '';
        quotedSegment = false;
        advance();
      } else if (!keyStop.has(k) && !atComment()) {
        segment += k;
        advance();
      } else if ((k === ' ' || k === '\t') && segment !== '') {
        // Whitespace inside a key (`a b = 1`) belongs to it; before the separator it does not.
        const rest = /^[ \t]*/.exec(text.slice(at))?.[0].length ?? 0;
        const next = text[at + rest] ?? '';
        if (next === '' || keyStop.has(next) || text.startsWith('//', at + rest)) {
          advance(rest);
          break;
        }
        segment += text.slice(at, at + rest);
        advance(rest);
      } else break;
    }
    if (segment !== '' || quotedSegment || segments.length > 0) segments.push(segment);
    if (segments.length === 0) {
      // Not a key (a stray character): skip it so the scan always moves on.
      skipValue();
      if (at < text.length && (peek() === ']' || peek() === '}')) advance();
      continue;
    }
    skipSpace(false);
    let append = false;
    if (peek() === '+' && peek(1) === '=') {
      append = true;
      advance(2);
    } else if (peek() === '=' || peek() === ':') advance();
    skipSpace(false);
    const path = [...current, ...segments];
    if (peek() === '{') {
      found.push({ path, kind: 'object', append, line: keyLine, column: keyColumn });
      objects.push(path);
      advance();
    } else {
      found.push({ path, kind: 'value', append, line: keyLine, column: keyColumn });
      skipValue();
    }
  }
  return found;
}
