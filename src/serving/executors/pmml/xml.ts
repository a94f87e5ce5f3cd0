/**
 * XML bytes → a plain element tree. fast-xml-parser reads the text (in document order, which
 * PMML needs: Segments, Nodes, RegressionTables and InlineTable rows are ordered); this module
 * hides its output format behind {@link XmlElement}, whose `path` names each element for
 * error messages, e.g. `PMML/MiningModel/Segmentation/Segment[id=3]/TreeModel/Node[id=7]`.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PmmlError } from './errors.js';

export interface XmlElement {
  /** Local name: namespace prefixes are dropped (`data:input` → `input`). */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own text, trimmed (text inside child elements is not included). */
  readonly text: string;
  readonly path: string;
}

/**
 * Deepest element nesting accepted. Tree models nest one `Node` per level; exporters stay far
 * below this, and the bound keeps the recursive readers well inside the stack.
 */
export const maxXmlDepth = 1500;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  maxNestedTags: maxXmlDepth,
});

/** Decodes the model bytes (UTF-8, or ISO-8859-1 when the XML declaration says so). */
export function decodeXml(bytes: Uint8Array): string {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 200));
  const declared = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/i.exec(head)?.[1]?.toLowerCase();
  if (declared === 'iso-8859-1' || declared === 'latin1' || declared === 'us-ascii') {
    return new TextDecoder('latin1').decode(bytes);
  }
  if (declared !== undefined && declared !== 'utf-8' && declared !== 'utf8') {
    throw new PmmlError(`the XML declares encoding '${declared}'; only UTF-8 and ISO-8859-1 are read`, '');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new PmmlError('the model is not XML: its bytes are not UTF-8 text', '');
  }
}

/** Parses an XML document and returns its root element. */
export function parseXml(text: string): XmlElement {
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    const where = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw new PmmlError(`the model is not XML: ${msg} (${where})`, '');
  }
  let nodes: unknown;
  try {
    nodes = parser.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new PmmlError(/nested tags/i.test(message) ? `the XML nests elements deeper than ${maxXmlDepth} levels` : `the model is not XML: ${message}`, '');
  }
  const roots = elementsOf(nodes, '');
  const root = roots[0];
  if (root === undefined) throw new PmmlError('the model is not XML: it has no root element', '');
  return root;
}

type OrderedNode = Record<string, unknown>;

function elementsOf(nodes: unknown, parentPath: string): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const entries: { name: string; attributes: Record<string, string>; content: unknown }[] = [];
  for (const node of nodes as unknown[]) {
    if (typeof node !== 'object' || node === null) continue;
    const record = node as OrderedNode;
    const name = Object.keys(record).find((key) => key !== ':@' && key !== '#text');
    if (name === undefined) continue;
    entries.push({ name, attributes: attributesOf(record[':@']), content: record[name] });
  }
  // A sibling index is added only where a name repeats without an identifying attribute.
  const counts = new Map<string, number>();
  for (const entry of entries) counts.set(entry.name, (counts.get(entry.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  return entries.map((entry) => {
    const index = (seen.get(entry.name) ?? 0) + 1;
    seen.set(entry.name, index);
    const path = `${parentPath === '' ? '' : `${parentPath}/`}${entry.name}${label(entry.attributes, (counts.get(entry.name) ?? 1) > 1 ? index : 0)}`;
    return {
      name: entry.name,
      attributes: entry.attributes,
      children: elementsOf(entry.content, path),
      text: textOf(entry.content),
      path,
    };
  });
}

/** `[id=3]`, `[name=age]`, or `[2]` (second sibling of that name). */
function label(attributes: Record<string, string>, index: number): string {
  for (const key of ['id', 'name', 'field', 'modelName', 'targetCategory']) {
    const value = attributes[key];
    if (value !== undefined) return `[${key}=${value}]`;
  }
  return index > 0 ? `[${index}]` : '';
}

function attributesOf(value: unknown): Record<string, string> {
  const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
  if (typeof value !== 'object' || value === null) return attributes;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    // Namespace declarations say nothing about the model.
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    attributes[key] = typeof v === 'string' ? v : String(v);
  }
  return attributes;
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const node of content as unknown[]) {
    if (typeof node === 'object' && node !== null && '#text' in node) {
      const value = (node as OrderedNode)['#text'];
      text += typeof value === 'string' ? value : String(value);
    }
  }
  return text.trim();
}
