/**
 * Reads YAML back with an independent parser, prettier's (built on the `yaml` package), so the
 * tests check what a YAML reader sees in the files, not what the writer meant. Plain scalars
 * are typed by the YAML 1.2 core schema, as kubectl reads them.
 */
import * as yamlPlugin from 'prettier/plugins/yaml';

interface Node {
  readonly type: string;
  readonly value?: unknown;
  readonly children?: readonly (Node | null)[];
}

function children(node: Node): Node[] {
  return (node.children ?? []).filter((child): child is Node => child !== null);
}

function plain(text: string): unknown {
  if (/^(null|Null|NULL|~|)$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?(0|[1-9][0-9]*)$/.test(text) || /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  return text;
}

function value(node: Node | undefined): unknown {
  if (node === undefined) return null;
  switch (node.type) {
    case 'plain':
      return plain(String(node.value));
    case 'quoteDouble':
    case 'quoteSingle':
    case 'blockLiteral':
    case 'blockFolded':
      return node.value;
    case 'mapping':
    case 'flowMapping': {
      const out: Record<string, unknown> = {};
      for (const item of children(node)) {
        const [key, val] = children(item);
        out[String(value(children(key ?? { type: 'null' })[0]))] = value(children(val ?? { type: 'null' })[0]);
      }
      return out;
    }
    case 'sequence':
    case 'flowSequence':
      return children(node).map((item) => value(children(item)[0]));
    default:
      throw new Error(`unexpected YAML node ${node.type}`);
  }
}

/** Every document of a YAML stream, as plain data. */
export async function readYamlDocuments(text: string): Promise<unknown[]> {
  const root = (await yamlPlugin.parsers.yaml.parse(text, {} as Parameters<typeof yamlPlugin.parsers.yaml.parse>[1])) as Node;
  return children(root).map((doc) => value(children(children(doc).find((c) => c.type === 'documentBody') ?? { type: 'null' })[0]));
}
