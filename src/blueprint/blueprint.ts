/**
 * The blueprint model: what a blueprint file says, read from its HOCON document without
 * resolving any class. Both wiring forms are accepted and may be mixed:
 *
 *   connections { data-ingress.out = [model-serving.in-0] }   # one topic per key, named data-ingress-out
 *   topics { scored { producers = [model-serving.out], consumers = [console.in] } }   # Cloudflow 2
 *
 * Reading checks the shape (sections, names, port reference syntax, duplicates); checking the
 * wiring against the streamlet classes is validate.ts's job.
 */
import path from 'node:path';
import { formatPath, type HoconDocument, type HoconValue, type KeyDefinition, type SourcePosition } from '../core/hocon.js';
import { DEAD_LETTERS_TOPIC } from './dead-letter.js';
import { byPosition, hoconKey, type BlueprintProblem, type BlueprintRule } from './problem.js';

export interface PortRef {
  readonly streamlet: string;
  readonly port: string;
  /** The HOCON key the reference is written at, e.g. `blueprint.topics.scored.consumers[0]`. */
  readonly key: string;
  readonly position?: SourcePosition;
}

export interface BlueprintStreamlet {
  readonly name: string;
  readonly className: string;
  readonly key: string;
  readonly position?: SourcePosition;
}

export interface BlueprintTopic {
  readonly name: string;
  /** Which form declared it: a `connections` key or a `topics` entry. */
  readonly form: 'connections' | 'topics';
  readonly producers: readonly PortRef[];
  readonly consumers: readonly PortRef[];
  readonly key: string;
  readonly position?: SourcePosition;
}

export interface Blueprint {
  readonly file: string;
  readonly streamlets: readonly BlueprintStreamlet[];
  readonly topics: readonly BlueprintTopic[];
  /** The `modules` section: package name → absolute path of the module that provides its classes. */
  readonly modules: Readonly<Record<string, string>>;
}

export interface BlueprintSource {
  /** The blueprint's path; `modules` paths are resolved relative to it. */
  readonly file: string;
}

/** Lowercase alphanumerics and '-', starting and ending alphanumeric, at most 63 characters. */
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsRule = "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)";

export function isDns1123Label(name: string): boolean {
  return name.length <= 63 && dns1123Label.test(name);
}

const sections = ['streamlets', 'connections', 'topics', 'modules'];
const topicKeys = ['producers', 'consumers'];

type HoconObject = { [key: string]: HoconValue };
type KeyPath = readonly (string | number)[];

/** What the section readers share: the document, and where problems go. */
interface Reading {
  readonly doc: HoconDocument;
  readonly problems: BlueprintProblem[];
  report(rule: BlueprintRule, at: KeyPath, message: string): void;
  /** Topic → how the user wrote it (`connection a.out`, `topics.scored`), for duplicate messages. */
  readonly origins: Map<BlueprintTopic, string>;
}

/**
 * Reads the blueprint model from a parsed document. Entries with problems are left out of the
 * model (a malformed port reference, a class name that is not a string) or kept when later
 * checks can still use them (a streamlet with an invalid name is still wired).
 */
export function readBlueprint(doc: HoconDocument, source: BlueprintSource): { blueprint: Blueprint; problems: BlueprintProblem[] } {
  const problems: BlueprintProblem[] = [];
  const reading: Reading = {
    doc,
    problems,
    report: (rule, at, message) => problems.push(withPosition({ rule, message, key: hoconKey(at) }, positionOf(doc, at))),
    origins: new Map(),
  };
  let streamlets: BlueprintStreamlet[] = [];
  const topics: BlueprintTopic[] = [];
  let modules: Record<string, string> = {};

  const root = doc.value['blueprint'];
  if (root === undefined) {
    reading.report('missing-blueprint', [], 'missing section "blueprint": a blueprint file holds blueprint { streamlets { ... }, connections { ... } }');
  } else if (!isObject(root)) {
    reading.report('invalid-value', ['blueprint'], `blueprint must be an object, found ${describe(root)}`);
  } else {
    for (const key of Object.keys(root)) {
      if (!sections.includes(key)) reading.report('unknown-key', ['blueprint', key], `unknown key "${key}" in blueprint (expected: ${sections.join(', ')})`);
    }
    streamlets = readStreamlets(reading, root['streamlets']);
    topics.push(...readConnections(reading, root['connections']), ...readTopics(reading, root['topics']));
    checkTopicNames(reading, topics);
    problems.push(...redefinitions(doc, root));
    modules = readModules(reading, root['modules'], source.file);
  }
  const blueprint: Blueprint = Object.freeze({
    file: source.file,
    streamlets: Object.freeze(streamlets),
    topics: Object.freeze(topics),
    modules: Object.freeze(modules),
  });
  return { blueprint, problems };
}

/** `name = package.Class` entries. A dotted name (`my.ingress = x.Y`) arrives as nested objects: flattened back so messages show what the user wrote. */
function readStreamlets(reading: Reading, declared: HoconValue | undefined): BlueprintStreamlet[] {
  const { doc, report } = reading;
  if (declared === undefined) {
    report(
      'missing-streamlets',
      ['blueprint'],
      'blueprint has no "streamlets" section: name each streamlet and its class, e.g. streamlets { ingress = package.Class }',
    );
    return [];
  }
  if (!isObject(declared)) {
    report('invalid-value', ['blueprint', 'streamlets'], `blueprint.streamlets must be an object of name = package.Class entries, found ${describe(declared)}`);
    return [];
  }
  const streamlets: BlueprintStreamlet[] = [];
  for (const [segments, value] of leaves(declared)) {
    const name = segments.join('.');
    const at = ['blueprint', 'streamlets', ...segments];
    if (typeof value !== 'string' || value.trim() === '') {
      report('invalid-value', at, `streamlet "${name}" must name a class such as package.Class, found ${describe(value)}`);
      continue;
    }
    if (!isDns1123Label(name)) report('invalid-name', at, `streamlet name "${name}" is not ${dnsRule}`);
    const streamlet = { name, className: value.trim(), key: hoconKey(['blueprint', 'streamlets', name]) };
    streamlets.push(Object.freeze(withPosition(streamlet, positionOf(doc, at))));
  }
  return streamlets;
}

/** `streamlet.outlet = [streamlet.inlet, ...]`: each key is a producer port and names its topic (`a.out` → `a-out`). */
function readConnections(reading: Reading, declared: HoconValue | undefined): BlueprintTopic[] {
  const { doc, report } = reading;
  if (declared === undefined) return [];
  if (!isObject(declared)) {
    report(
      'invalid-value',
      ['blueprint', 'connections'],
      `blueprint.connections must be an object of streamlet.outlet = [streamlet.inlet, ...] entries, found ${describe(declared)}`,
    );
    return [];
  }
  const topics: BlueprintTopic[] = [];
  for (const [segments, value] of leaves(declared)) {
    const ref = segments.join('.');
    const at = ['blueprint', 'connections', ...segments];
    // Messages show the connection key as one segment, as the user thinks of it.
    const shown = ['blueprint', 'connections', ref];
    if (!Array.isArray(value)) {
      report('invalid-value', at, `connection "${ref}" must be a list of inlets such as [streamlet.inlet], found ${describe(value)}`);
      continue;
    }
    const producers: PortRef[] = [];
    if (ref !== DEAD_LETTERS_TOPIC) {
      const producer = parsePortRef(ref, 'out', hoconKey(shown), positionOf(doc, at));
      if (typeof producer === 'string') report('malformed-port', at, producer);
      else producers.push(producer);
    }
    const topic = makeTopic(
      ref.replaceAll('.', '-'),
      'connections',
      producers,
      readRefs(reading, value, 'in', at, shown),
      hoconKey(shown),
      positionOf(doc, at),
    );
    reading.origins.set(topic, `connection ${formatPath(segments)}`);
    topics.push(topic);
  }
  return topics;
}

/** Cloudflow 2's `name { producers = [...], consumers = [...] }` entries. */
function readTopics(reading: Reading, declared: HoconValue | undefined): BlueprintTopic[] {
  const { doc, report } = reading;
  if (declared === undefined) return [];
  if (!isObject(declared)) {
    report(
      'invalid-value',
      ['blueprint', 'topics'],
      `blueprint.topics must be an object of topic-name { producers = [...], consumers = [...] } entries, found ${describe(declared)}`,
    );
    return [];
  }
  const topics: BlueprintTopic[] = [];
  for (const [name, definition] of Object.entries(declared)) {
    const at = ['blueprint', 'topics', name];
    if (!isDns1123Label(name)) report('invalid-name', at, `topic name "${name}" is not ${dnsRule}`);
    if (!isObject(definition)) {
      report('invalid-value', at, `topic "${name}" must be an object such as { producers = [a.out], consumers = [b.in] }, found ${describe(definition)}`);
      continue;
    }
    for (const key of Object.keys(definition)) {
      if (!topicKeys.includes(key)) report('unknown-key', [...at, key], `unknown key "${key}" in topic "${name}" (expected: ${topicKeys.join(', ')})`);
    }
    const list = (key: 'producers' | 'consumers'): PortRef[] => {
      const value = definition[key];
      if (value === undefined) return [];
      if (!Array.isArray(value)) {
        report('invalid-value', [...at, key], `${key} of topic "${name}" must be a list of ports such as [streamlet.port], found ${describe(value)}`);
        return [];
      }
      return readRefs(reading, value, key === 'producers' ? 'out' : 'in', [...at, key], [...at, key]);
    };
    const topic = makeTopic(name, 'topics', list('producers'), list('consumers'), hoconKey(at), positionOf(doc, at));
    reading.origins.set(topic, `topics.${formatPath([name])}`);
    topics.push(topic);
    // Judged on what was written, so malformed producers do not also read as "no producers".
    const written = definition['producers'];
    if (name === DEAD_LETTERS_TOPIC && Array.isArray(written) && written.length > 0) {
      report(
        'dead-letters-producer',
        [...at, 'producers'],
        `topic "${DEAD_LETTERS_TOPIC}" is written by the runtime: it takes consumers only, remove its producers`,
      );
    } else if (name !== DEAD_LETTERS_TOPIC && (written === undefined || (Array.isArray(written) && written.length === 0))) {
      report('no-producer', at, `topic "${name}" has no producers: list at least one outlet, e.g. producers = [streamlet.out]`);
    }
  }
  return topics;
}

/** The same topic name from two places: across the forms, or two connection keys giving one name (a-b.c and a.b-c). */
function checkTopicNames(reading: Reading, topics: readonly BlueprintTopic[]): void {
  const first = new Map<string, BlueprintTopic>();
  for (const topic of topics) {
    const earlier = first.get(topic.name);
    if (!earlier) {
      first.set(topic.name, topic);
      continue;
    }
    const line = earlier.position ? ` (${lineOf(earlier.position, topic.position)})` : '';
    const origin = (t: BlueprintTopic): string => reading.origins.get(t) ?? t.key;
    const message = `topic "${topic.name}" is defined twice: by ${origin(earlier)}${line} and by ${origin(topic)}`;
    reading.problems.push(withPosition({ rule: 'duplicate-topic', key: topic.key, message }, topic.position));
  }
}

/** `package = "./module.js"` entries, resolved relative to the blueprint file. */
function readModules(reading: Reading, declared: HoconValue | undefined, file: string): Record<string, string> {
  if (declared === undefined) return {};
  if (!isObject(declared)) {
    reading.report(
      'invalid-value',
      ['blueprint', 'modules'],
      `blueprint.modules must be an object of package = "./path/to/module.js" entries, found ${describe(declared)}`,
    );
    return {};
  }
  const modules: Record<string, string> = {};
  for (const [segments, value] of leaves(declared)) {
    const pkg = segments.join('.');
    if (typeof value !== 'string' || value.trim() === '') {
      reading.report(
        'invalid-value',
        ['blueprint', 'modules', ...segments],
        `module of package "${pkg}" must be a path such as "./streamlets.js", found ${describe(value)}`,
      );
      continue;
    }
    modules[pkg] = path.resolve(path.dirname(path.resolve(file)), value.trim());
  }
  return modules;
}

/** Port references of a list; malformed ones are reported and left out. */
function readRefs(reading: Reading, list: readonly HoconValue[], example: string, at: readonly string[], shown: readonly string[]): PortRef[] {
  const refs: PortRef[] = [];
  list.forEach((item, index) => {
    const position = positionOf(reading.doc, [...at, index]) ?? positionOf(reading.doc, at);
    const key = hoconKey([...shown, index]);
    if (typeof item !== 'string') {
      reading.problems.push(
        withPosition({ rule: 'invalid-value', key, message: `expected a port such as streamlet.port at ${key}, found ${describe(item)}` }, position),
      );
      return;
    }
    const ref = parsePortRef(item, example, key, position);
    if (typeof ref === 'string') reading.problems.push(withPosition({ rule: 'malformed-port', key, message: ref }, position));
    else refs.push(ref);
  });
  return refs;
}

function makeTopic(
  name: string,
  form: BlueprintTopic['form'],
  producers: PortRef[],
  consumers: PortRef[],
  key: string,
  position: SourcePosition | undefined,
): BlueprintTopic {
  return Object.freeze(withPosition({ name, form, producers: Object.freeze(producers), consumers: Object.freeze(consumers), key }, position));
}

/** `streamlet.port`, or the message saying why the text is not one. */
function parsePortRef(text: string, example: string, key: string, position: SourcePosition | undefined): PortRef | string {
  const trimmed = text.trim();
  const dot = trimmed.indexOf('.');
  if (dot <= 0 || dot === trimmed.length - 1) {
    const streamlet = dot < 0 && trimmed !== '' ? trimmed : dot > 0 ? trimmed.slice(0, dot) : 'streamlet';
    return `"${trimmed}" is not a port reference: write streamlet.port, e.g. ${streamlet}.${example}`;
  }
  return Object.freeze(withPosition({ streamlet: trimmed.slice(0, dot), port: trimmed.slice(dot + 1), key }, position));
}

/**
 * Names set more than once: HOCON keeps only the last of them (or merges them), so the earlier
 * streamlet, connection or topic would silently disappear. The document lists every definition
 * of a key, those from included files too. A `+=` append is not a redefinition, and for
 * streamlets and connections only values count (`my { a = x }` then `my { b = y }` is fine).
 */
function redefinitions(doc: HoconDocument, root: HoconObject): BlueprintProblem[] {
  const problems: BlueprintProblem[] = [];
  const check = (rule: BlueprintRule, key: string, what: string, definitions: readonly KeyDefinition[]): void => {
    const [first, ...again] = definitions;
    for (const definition of again) {
      const position = { file: definition.file, line: definition.line, column: definition.column };
      problems.push({ rule, key, message: `${what} is defined again (first at ${lineOf(first ?? definition, position)}); names must be unique`, position });
    }
  };
  const values = (at: readonly string[]): KeyDefinition[] => doc.definitions(at).filter((definition) => definition.kind === 'value');
  for (const segments of keyPaths(root['streamlets'])) {
    const name = segments.join('.');
    check('duplicate-streamlet', hoconKey(['blueprint', 'streamlets', name]), `streamlet "${name}"`, values(['blueprint', 'streamlets', ...segments]));
  }
  for (const segments of keyPaths(root['connections'])) {
    const key = hoconKey(['blueprint', 'connections', segments.join('.')]);
    check('duplicate-topic', key, `connection ${formatPath(segments)}`, values(['blueprint', 'connections', ...segments]));
  }
  const topics = root['topics'];
  for (const name of isObject(topics) ? Object.keys(topics) : []) {
    const definitions = doc.definitions(['blueprint', 'topics', name]).filter((definition) => definition.kind !== 'append');
    check('duplicate-topic', hoconKey(['blueprint', 'topics', name]), `topic "${name}"`, definitions);
  }
  return problems.sort(byPosition);
}

/** Where an earlier definition is, for a message about a later one: `line 4`, or `file:4` in another file. */
function lineOf(earlier: SourcePosition, later: SourcePosition | undefined): string {
  return later === undefined || earlier.file === later.file ? `line ${earlier.line}` : `${earlier.file}:${earlier.line}`;
}

/** Every key path of nested objects, parents before their children. */
function keyPaths(value: HoconValue | undefined): string[][] {
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => [[key], ...keyPaths(child).map((rest) => [key, ...rest])]);
}

/** Entries of an object, with nested objects flattened into dotted paths (HOCON splits `a.b = 1`). */
function leaves(object: HoconObject, prefix: readonly string[] = []): [string[], HoconValue][] {
  const found: [string[], HoconValue][] = [];
  for (const [key, value] of Object.entries(object)) {
    if (isObject(value) && Object.keys(value).length > 0) found.push(...leaves(value, [...prefix, key]));
    else found.push([[...prefix, key], value]);
  }
  return found;
}

function positionOf(doc: HoconDocument, at: KeyPath): SourcePosition | undefined {
  return doc.position(at.map(String));
}

/** Adds `position` only when known, so objects never carry `position: undefined`. */
function withPosition<T extends object>(value: T, position: SourcePosition | undefined): T & { position?: SourcePosition } {
  return position ? { ...value, position } : value;
}

function isObject(value: HoconValue | undefined): value is HoconObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: HoconValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'string' ? 'a string' : `a ${typeof value}`} ${JSON.stringify(value)}`;
}
