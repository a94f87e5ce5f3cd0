/**
 * An inference graph file (`graph.conf`, HOCON, so plain JSON too), read into a checked
 * definition. The structure is checked here, all at once: the root, each node's type and
 * fields, children that exist and fit the node's type, router weights, steps, no cycle, no node
 * the root cannot reach. What depends on the repository (the models named, their tensors) is
 * checked when the graph is built (./graph-servable.ts).
 *
 *   root = ab-test
 *   nodes {
 *     ab-test { type = router, method = weighted, weights = [0.9, 0.1], children = [current, candidate] }
 *     current { type = model, model = recommender }
 *     candidate { type = model, model = recommender-b }
 *   }
 */
import { basename } from 'node:path';
import { parseHoconFile, type HoconDocument, type HoconValue } from '../../core/hocon.js';
import { isSluiceError, messageOf, SluiceError } from '../../core/errors.js';
import { readSteps, type Step } from './steps.js';

export const nodeTypes = ['model', 'transformer', 'output-transformer', 'combiner', 'router'] as const;
export type NodeType = (typeof nodeTypes)[number];
export const combineMethods = ['average', 'vote'] as const;
export const routeMethods = ['weighted', 'epsilon-greedy'] as const;

interface NodeBase {
  readonly name: string;
  /** `graph.conf:7`: where the node is defined, for messages. */
  readonly where: string;
}

export type GraphNode = NodeBase &
  (
    | { readonly type: 'model'; readonly model: string }
    | { readonly type: 'transformer' | 'output-transformer'; readonly steps: readonly Step[]; readonly children: readonly [string] }
    | { readonly type: 'combiner'; readonly method: (typeof combineMethods)[number]; readonly children: readonly string[] }
    | {
        readonly type: 'router';
        readonly method: 'weighted';
        readonly weights: readonly number[];
        readonly seed: number | undefined;
        readonly children: readonly string[];
      }
    | {
        readonly type: 'router';
        readonly method: 'epsilon-greedy';
        readonly epsilon: number;
        readonly seed: number | undefined;
        readonly children: readonly string[];
      }
  );

export interface GraphDefinition {
  readonly file: string;
  readonly root: string;
  /** In the file's order. */
  readonly nodes: ReadonlyMap<string, GraphNode>;
}

/** Names of nodes, as they appear in Seldon graphs and in messages. */
const nodeName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The error for a graph that cannot be served, listing every problem. */
export function graphError(file: string, problems: readonly string[]): SluiceError<'SLUICE_ERR_GRAPH_INVALID'> {
  return new SluiceError('SLUICE_ERR_GRAPH_INVALID', { file, count: problems.length, problems: problems.join('; ') });
}

export async function readGraphFile(file: string): Promise<GraphDefinition> {
  let document: HoconDocument;
  try {
    // No environment variables: a graph means the same wherever it is served.
    document = await parseHoconFile(file, { env: {} });
  } catch (err) {
    throw graphError(file, [isSluiceError(err) ? err.message : `it cannot be read: ${messageOf(err)}`]);
  }
  const problems: string[] = [];
  const graph = readGraph(file, document, problems);
  if (problems.length > 0 || !graph) throw graphError(file, problems);
  return graph;
}

function readGraph(file: string, document: HoconDocument, problems: string[]): GraphDefinition | undefined {
  const at = (path: readonly string[]): string => {
    const position = document.position(path);
    return position ? `${basename(file)}:${position.line}` : basename(file);
  };
  const { root, nodes: rawNodes, ...unknown } = document.value;
  for (const key of Object.keys(unknown)) problems.push(`unknown key '${key}' (${at([key])}): a graph file has 'root' and 'nodes'`);
  if (!isObject(rawNodes) || Object.keys(rawNodes).length === 0) {
    problems.push(`'nodes' must be an object of named nodes, e.g. nodes { a { type = model, model = recommender } }`);
    return undefined;
  }
  const nodes = new Map<string, GraphNode>();
  for (const [name, raw] of Object.entries(rawNodes)) {
    const reader = new NodeReader(name, at(['nodes', name]), raw, problems);
    if (!nodeName.test(name)) reader.problem(`the name may hold only letters, digits, '.', '_' and '-', starting with a letter or digit`);
    const node = reader.node();
    if (node) nodes.set(name, node);
  }
  if (typeof root !== 'string' || root === '') {
    problems.push(`'root' must name the node requests enter, one of: ${[...nodes.keys()].join(', ')}`);
    return undefined;
  }
  if (!Object.hasOwn(rawNodes, root)) {
    problems.push(`root '${root}' (${at(['root'])}) is not a node (nodes: ${Object.keys(rawNodes).join(', ')})`);
    return undefined;
  }
  checkLinks(root, nodes, new Set(Object.keys(rawNodes)), problems);
  return { file, root, nodes };
}

/**
 * Every child exists; no node is its own descendant; every node is reachable from the root.
 * Paths through a node that could not be read are unknown: then only the children are checked.
 */
function checkLinks(root: string, nodes: ReadonlyMap<string, GraphNode>, declared: ReadonlySet<string>, problems: string[]): void {
  for (const node of nodes.values()) {
    for (const child of childrenOf(node)) {
      if (!declared.has(child)) problems.push(`node '${node.name}' (${node.where}): child '${child}' is not a node (nodes: ${[...declared].join(', ')})`);
    }
  }
  if (nodes.size < declared.size) return;
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: readonly string[]): void => {
    const node = nodes.get(name);
    if (!node || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      problems.push(`node '${name}' (${node.where}) is in a cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
      return;
    }
    state.set(name, 'visiting');
    for (const child of childrenOf(node)) visit(child, [...path, name]);
    state.set(name, 'done');
  };
  visit(root, []);
  for (const node of nodes.values()) {
    if (!state.has(node.name)) problems.push(`node '${node.name}' (${node.where}) is not reachable from root '${root}'`);
  }
}

export function childrenOf(node: GraphNode): readonly string[] {
  return node.type === 'model' ? [] : node.children;
}

/** Reads one node's fields, collecting a problem for each wrong, missing or unknown one. */
class NodeReader {
  private readonly fields: Readonly<Record<string, HoconValue>>;
  private readonly used = new Set<string>(['type']);

  constructor(
    private readonly name: string,
    private readonly where: string,
    raw: HoconValue | undefined,
    private readonly problems: string[],
  ) {
    this.fields = isObject(raw) ? raw : {};
    if (!isObject(raw)) this.problem(`must be an object with a 'type' (${nodeTypes.join(', ')})`);
  }

  problem(message: string): void {
    this.problems.push(`node '${this.name}' (${this.where}): ${message}`);
  }

  node(): GraphNode | undefined {
    const type = this.fields.type;
    const base = { name: this.name, where: this.where };
    if (!nodeTypes.includes(type as NodeType)) {
      this.problem(`'type' must be one of ${nodeTypes.join(', ')}, got ${shown(type)}`);
      return undefined;
    }
    let node: GraphNode | undefined;
    switch (type as NodeType) {
      case 'model': {
        const model = this.string('model', 'the repository model it calls');
        node = model === undefined ? undefined : { ...base, type: 'model', model };
        break;
      }
      case 'transformer':
      case 'output-transformer': {
        this.used.add('steps');
        const steps = readSteps(this.fields.steps, (message) => this.problem(message));
        const children = this.children(1, 1);
        node = steps && children ? { ...base, type: type as 'transformer', steps, children: [children[0] as string] } : undefined;
        break;
      }
      case 'combiner': {
        const method = this.choice('method', combineMethods);
        const children = this.children(2);
        node = method && children ? { ...base, type: 'combiner', method, children } : undefined;
        break;
      }
      case 'router':
        node = this.router(base);
        break;
    }
    for (const key of Object.keys(this.fields)) if (!this.used.has(key)) this.problem(`unknown field '${key}' for a ${String(type)} node`);
    return node;
  }

  private router(base: NodeBase): GraphNode | undefined {
    const method = this.choice('method', routeMethods);
    const children = this.children(2);
    const seed = this.fields.seed === undefined ? undefined : this.number('seed', { integer: true });
    this.used.add('seed');
    if (method === 'weighted') {
      const weights = this.weights(children?.length);
      return children && weights ? { ...base, type: 'router', method, weights, seed, children } : undefined;
    }
    if (method === 'epsilon-greedy') {
      const epsilon = this.number('epsilon', { min: 0, max: 1 });
      return children && epsilon !== undefined ? { ...base, type: 'router', method, epsilon, seed, children } : undefined;
    }
    return undefined;
  }

  private weights(children: number | undefined): number[] | undefined {
    this.used.add('weights');
    const raw = this.fields.weights;
    if (!Array.isArray(raw) || raw.some((w) => typeof w !== 'number' || !Number.isFinite(w) || w < 0)) {
      this.problem(`'weights' must be a list of numbers >= 0, one per child, e.g. [0.9, 0.1]; got ${shown(raw)}`);
      return undefined;
    }
    const weights = raw as number[];
    if (children !== undefined && weights.length !== children) {
      this.problem(`'weights' has ${weights.length} entries for ${children} children: give one per child, in order`);
      return undefined;
    }
    if (!weights.some((w) => w > 0)) {
      this.problem(`'weights' are all 0: at least one child must get requests`);
      return undefined;
    }
    return weights;
  }

  private string(key: string, what: string): string | undefined {
    this.used.add(key);
    const value = this.fields[key];
    if (typeof value === 'string' && value !== '') return value;
    this.problem(`'${key}' must name ${what}, got ${shown(value)}`);
    return undefined;
  }

  private choice<const V extends string>(key: string, values: readonly V[]): V | undefined {
    this.used.add(key);
    const value = this.fields[key];
    const found = values.find((v) => v === value);
    if (found === undefined) this.problem(`'${key}' must be one of ${values.join(', ')}, got ${shown(value)}`);
    return found;
  }

  private number(key: string, bounds: { min?: number; max?: number; integer?: boolean }): number | undefined {
    this.used.add(key);
    const value = this.fields[key];
    const fits =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (!bounds.integer || Number.isSafeInteger(value)) &&
      (bounds.min === undefined || value >= bounds.min) &&
      (bounds.max === undefined || value <= bounds.max);
    if (fits) return value;
    const range = bounds.min !== undefined && bounds.max !== undefined ? ` from ${bounds.min} to ${bounds.max}` : '';
    this.problem(`'${key}' must be ${bounds.integer ? 'an integer' : 'a number'}${range}, got ${shown(value)}`);
    return undefined;
  }

  private children(min: number, max = Number.POSITIVE_INFINITY): string[] | undefined {
    this.used.add('children');
    const raw = this.fields.children;
    const count = min === max ? `exactly ${min}` : `at least ${min}`;
    if (!Array.isArray(raw) || raw.some((c) => typeof c !== 'string' || c === '')) {
      this.problem(`'children' must be a list of node names (${count}), got ${shown(raw)}`);
      return undefined;
    }
    const children = raw as string[];
    if (children.length < min || children.length > max) {
      this.problem(`a ${String(this.fields.type)} node has ${count} ${min === 1 && max === 1 ? 'child' : 'children'}, this one has ${children.length}`);
      return undefined;
    }
    const twice = children.find((c, i) => children.indexOf(c) !== i);
    if (twice !== undefined) {
      this.problem(`child '${twice}' is listed twice`);
      return undefined;
    }
    return children;
  }
}

export function isObject(value: HoconValue | undefined): value is { [key: string]: HoconValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function shown(value: HoconValue | undefined): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
