/**
 * A small YAML writer for plain data (objects, arrays, strings, numbers, booleans, null), in
 * block style, as Kubernetes manifests are written by hand. Strings are left plain only when no
 * YAML 1.1 or 1.2 reader can take them for anything else; the rest are double-quoted (a JSON
 * string is a valid YAML double-quoted scalar), and multi-line text such as a config file is a
 * literal block (`|`), so it reads as the file it is.
 */

export type YamlValue = string | number | boolean | null | readonly YamlValue[] | { readonly [key: string]: YamlValue };

/** Letters, digits and `_ . / -`, starting with a letter or `/`: never a number, a date or an indicator. */
const plainSafe = /^[A-Za-z/][A-Za-z0-9_./-]*$/;
/** Words YAML 1.1 readers (kubectl's among them) take for booleans or null. */
const reserved = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null']);

/** One YAML document for `value`, ending with a newline. */
export function toYaml(value: YamlValue): string {
  return `${block(value, 0).join('\n')}\n`;
}

/** Several documents in one stream, separated by `---`. */
export function toYamlDocuments(values: readonly YamlValue[]): string {
  return values.map(toYaml).join('---\n');
}

function scalar(value: string | number | boolean | null): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (typeof value !== 'string') return String(value);
  return plainSafe.test(value) && !reserved.has(value.toLowerCase()) ? value : JSON.stringify(value);
}

/** A literal block keeps text as it is when it ends with one newline and holds no character a block cannot. */
function literalBlock(text: string): boolean {
  return /^[^\s][^]*[^\n]\n$/.test(text) && !/[\t\r\u0000-\u0008\u000b-\u001f\u007f]/.test(text) && !/ \n/.test(text);
}

function isCollection(value: YamlValue): value is readonly YamlValue[] | { readonly [key: string]: YamlValue } {
  return value !== null && typeof value === 'object';
}

/** The lines of `value` written at `indent` spaces, for a value that stands on lines of its own. */
function block(value: YamlValue, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}[]`];
    return value.flatMap((item: YamlValue) => {
      if (isCollection(item) && !isEmpty(item)) {
        // `- key: value` with the rest of the item aligned under its first key.
        const [first = '', ...rest] = block(item, indent + 2);
        return [`${pad}- ${first.slice(indent + 2)}`, ...rest];
      }
      return [`${pad}- ${inline(item, indent + 2)}`];
    });
  }
  if (isCollection(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [`${pad}{}`];
    return entries.flatMap(([key, item]) => {
      const name = scalar(key);
      if (isCollection(item) && !isEmpty(item)) return [`${pad}${name}:`, ...block(item, indent + (Array.isArray(item) ? 0 : 2))];
      return [`${pad}${name}: ${inline(item, indent + 2)}`];
    });
  }
  return [`${pad}${inline(value, indent)}`];
}

/** A value written after `key: ` or `- `; a literal block continues on the next lines at `indent`. */
function inline(value: YamlValue, indent: number): string {
  if (isCollection(value)) return Array.isArray(value) ? '[]' : '{}';
  if (typeof value === 'string' && value.includes('\n') && literalBlock(value)) {
    const pad = ' '.repeat(indent);
    return `|\n${value
      .slice(0, -1)
      .split('\n')
      .map((line) => (line === '' ? '' : `${pad}${line}`))
      .join('\n')}`;
  }
  return scalar(value);
}

function isEmpty(value: readonly YamlValue[] | { readonly [key: string]: YamlValue }): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}
