/**
 * Blueprint validation: reads a blueprint, resolves its streamlet classes and checks the wiring
 * against their declared ports and schemas, collecting every problem. The checks are synchronous
 * and take the resolved classes as a map, so they run on in-memory fixtures; only
 * {@link loadBlueprint} touches files and imports modules.
 */
import { readFile } from 'node:fs/promises';
import { isSluiceError, SluiceError } from '../core/errors.js';
import { parseHocon, type HoconDocument, type SourcePosition } from '../core/hocon.js';
import { incompatibility, type Schema } from '../core/schema.js';
import type { AnyStreamlet } from '../core/streamlet.js';
import { createApplication, type Application, type ApplicationTopic } from './application.js';
import { readBlueprint, type Blueprint, type BlueprintSource, type PortRef } from './blueprint.js';
import { DEAD_LETTERS_TOPIC, DeadLetter } from './dead-letter.js';
import { byPosition, formatProblem, type BlueprintProblem, type BlueprintRule } from './problem.js';
import { createStreamletResolver, type PackageSource, type StreamletResolver } from './resolve.js';

/** Class name → its definition, or why it could not be resolved. */
export type ResolvedClasses = ReadonlyMap<string, AnyStreamlet | Error>;

export interface BlueprintValidation {
  readonly blueprint: Blueprint;
  /** Present exactly when there are no problems. */
  readonly application?: Application;
  /** Sorted by position in the file. */
  readonly problems: readonly BlueprintProblem[];
}

/** Resolves every class the blueprint names, once each; failures become values, not exceptions. */
export async function resolveClasses(blueprint: Blueprint, resolver: StreamletResolver): Promise<Map<string, AnyStreamlet | Error>> {
  const classes = new Map<string, AnyStreamlet | Error>();
  const names = [...new Set(blueprint.streamlets.map((streamlet) => streamlet.className))];
  await Promise.all(
    names.map(async (className) => {
      try {
        classes.set(className, await resolver(className));
      } catch (err) {
        classes.set(className, err instanceof Error ? err : new Error(String(err)));
      }
    }),
  );
  return classes;
}

/** Reads and checks a parsed blueprint against resolved classes, synchronously. */
export function validateBlueprint(doc: HoconDocument, classes: ResolvedClasses, source: BlueprintSource): BlueprintValidation {
  return check(readBlueprint(doc, source), classes);
}

export interface LoadBlueprintOptions {
  /** Streamlet packages given in code (built-ins, examples); looked up before the blueprint's `modules`. */
  readonly packages?: Readonly<Record<string, PackageSource>>;
  /** Variables for `${?VAR}` substitutions; the process environment when omitted. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads a blueprint file, resolves its classes (packages in code first, then the blueprint's
 * own `modules`) and validates it. A HOCON syntax error or refused include is returned as a
 * `syntax` problem; only an unreadable file throws.
 */
export async function loadBlueprint(file: string, options: LoadBlueprintOptions = {}): Promise<BlueprintValidation> {
  const text = await readFile(file, 'utf8');
  let doc: HoconDocument;
  try {
    doc = parseHocon(text, { file, env: options.env });
  } catch (err) {
    if (!isSluiceError(err, 'SLUICE_ERR_HOCON_SYNTAX') && !isSluiceError(err, 'SLUICE_ERR_HOCON_INCLUDE_REFUSED')) throw err;
    const blueprint: Blueprint = Object.freeze({ file, streamlets: Object.freeze([]), topics: Object.freeze([]), modules: Object.freeze({}) });
    return Object.freeze({ blueprint, problems: Object.freeze([syntaxProblem(err)]) });
  }
  const read = readBlueprint(doc, { file });
  // The resolver is made here because the blueprint's own `modules` are known only after reading it.
  const resolver = createStreamletResolver({ packages: options.packages, blueprintModules: read.blueprint.modules });
  return check(read, await resolveClasses(read.blueprint, resolver));
}

/** {@link loadBlueprint}, throwing SLUICE_ERR_BLUEPRINT_INVALID with every problem unless the blueprint is valid. */
export async function loadApplication(file: string, options: LoadBlueprintOptions = {}): Promise<Application> {
  const { application, problems } = await loadBlueprint(file, options);
  if (application) return application;
  throw blueprintError(file, problems);
}

export function blueprintError(file: string, problems: readonly BlueprintProblem[]): SluiceError<'SLUICE_ERR_BLUEPRINT_INVALID'> {
  return new SluiceError('SLUICE_ERR_BLUEPRINT_INVALID', {
    file,
    count: problems.length,
    problems: problems.map((problem) => `  ${formatProblem(problem, file)}`).join('\n'),
  });
}

/** A HOCON error as a problem, its `where` (file:line:column) turned back into a position. */
function syntaxProblem(err: SluiceError<'SLUICE_ERR_HOCON_SYNTAX' | 'SLUICE_ERR_HOCON_INCLUDE_REFUSED'>): BlueprintProblem {
  const params = err.params as Readonly<Record<string, string | number>>;
  const message = err.code === 'SLUICE_ERR_HOCON_SYNTAX' ? String(params['message']) : `include of ${params['target']} refused: ${params['why']}`;
  const where = /^(.*):(\d+):(\d+)$/.exec(String(params['where']));
  if (!where) return { rule: 'syntax', key: '', message: err.message };
  return { rule: 'syntax', key: '', message, position: { file: where[1] ?? '', line: Number(where[2]), column: Number(where[3]) } };
}

interface Port {
  readonly ref: PortRef;
  readonly schema: Schema;
}

type Report = (rule: BlueprintRule, at: { readonly key: string; readonly position?: SourcePosition }, message: string) => void;

function check(read: { blueprint: Blueprint; problems: readonly BlueprintProblem[] }, classes: ResolvedClasses): BlueprintValidation {
  const { blueprint } = read;
  const problems = [...read.problems];
  const report: Report = (rule, at, message) => {
    problems.push(at.position ? { rule, message, key: at.key, position: at.position } : { rule, message, key: at.key });
  };

  const definitions = new Map<string, AnyStreamlet>();
  for (const streamlet of blueprint.streamlets) {
    const resolved =
      classes.get(streamlet.className) ?? new SluiceError('SLUICE_ERR_STREAMLET_NOT_FOUND', { className: streamlet.className, message: 'it was not resolved' });
    if (resolved instanceof Error) {
      const rule = isSluiceError(resolved, 'SLUICE_ERR_STREAMLET_NOT_FOUND') ? 'unknown-class' : 'class-load-failed';
      report(rule, streamlet, `streamlet "${streamlet.name}": ${resolved.message}`);
    } else {
      definitions.set(streamlet.name, resolved);
    }
  }
  const ports = new PortLookup(blueprint, definitions, report);

  /** Inlet (`streamlet.inlet`) → the first topic that feeds it. */
  const fedBy = new Map<string, string>();
  const topics: ApplicationTopic[] = [];
  for (const topic of blueprint.topics) {
    const deadLetters = topic.name === DEAD_LETTERS_TOPIC;
    // Producers of dead-letters were reported while reading: only the runtime writes there.
    const producers = portsOf(deadLetters ? [] : topic.producers, topic.name, report, (ref) => ports.schema(ref, 'producer', topic.name));
    const consumers = portsOf(topic.consumers, topic.name, report, (ref) => {
      if (ports.isInlet(ref)) {
        // Counted even when the schema does not fit, so one mistake is not reported twice.
        const earlier = fedBy.get(portText(ref));
        if (earlier === undefined) fedBy.set(portText(ref), topic.name);
        else if (earlier !== topic.name) {
          report('inlet-multiple-topics', ref, `inlet "${portText(ref)}" is fed by topics "${earlier}" and "${topic.name}": an inlet reads exactly one topic`);
        }
      }
      return ports.schema(ref, 'consumer', topic.name);
    });
    const schema = deadLetters ? (DeadLetter as Schema) : writerSchema(topic.name, producers, report);
    if (!schema) continue;
    for (const consumer of consumers) {
      const why = incompatibility(schema, consumer.schema);
      if (why === undefined) continue;
      const reader = `"${portText(consumer.ref)}" (schema ${consumer.schema.name})`;
      if (deadLetters) report('dead-letter-schema', consumer.ref, `${reader} cannot read dead letters (schema ${DeadLetter.name}): ${why}`);
      else
        report(
          'incompatible-schema',
          consumer.ref,
          `"${portText(producers[0]?.ref ?? consumer.ref)}" writes schema ${schema.name}, which ${reader} cannot read: ${why}`,
        );
    }
    topics.push({
      name: topic.name,
      schema,
      producers: producers.map(({ ref }) => ({ streamlet: ref.streamlet, outlet: ref.port })),
      consumers: consumers.map(({ ref }) => ({ streamlet: ref.streamlet, inlet: ref.port })),
    });
  }

  // Every inlet must be fed. Unconnected outlets are allowed: what they emit is discarded, which
  // lets a blueprint leave out a side output (statistics, say) it does not need.
  for (const streamlet of blueprint.streamlets) {
    for (const inlet of Object.keys(definitions.get(streamlet.name)?.inlets ?? {})) {
      const text = `${streamlet.name}.${inlet}`;
      if (!fedBy.has(text)) report('unconnected-inlet', streamlet, `inlet "${text}" is not connected: no topic feeds it`);
    }
  }

  problems.sort(byPosition);
  if (problems.length > 0) return Object.freeze({ blueprint, problems: Object.freeze(problems) });
  const streamlets = blueprint.streamlets.flatMap((streamlet) => {
    const definition = definitions.get(streamlet.name);
    return definition ? [{ name: streamlet.name, className: streamlet.className, definition }] : [];
  });
  return Object.freeze({ blueprint, application: createApplication(blueprint.file, streamlets, topics), problems: Object.freeze([]) });
}

/** The ports of one list of a topic with their schemas; a port listed twice is reported once and used once. */
function portsOf(refs: readonly PortRef[], topic: string, report: Report, schemaOf: (ref: PortRef) => Schema | undefined): Port[] {
  const ports: Port[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    if (seen.has(portText(ref))) {
      report('duplicate-port', ref, `"${portText(ref)}" is listed twice in topic "${topic}"`);
      continue;
    }
    seen.add(portText(ref));
    const schema = schemaOf(ref);
    if (schema) ports.push({ ref, schema });
  }
  return ports;
}

/** A topic carries one writer schema: every producer must write the same one. */
function writerSchema(topic: string, producers: readonly Port[], report: Report): Schema | undefined {
  const [first, ...others] = producers;
  for (const other of others) {
    if (first && !other.schema.type.equals(first.schema.type)) {
      report(
        'producer-schema-mismatch',
        other.ref,
        `topic "${topic}" has producers writing different schemas: "${portText(first.ref)}" writes ${first.schema.name}, "${portText(other.ref)}" writes ${other.schema.name}`,
      );
    }
  }
  return first?.schema;
}

/** Port references checked against the streamlets' declared inlets and outlets. */
class PortLookup {
  private readonly names: ReadonlySet<string>;
  private readonly classOf: ReadonlyMap<string, string>;

  constructor(
    blueprint: Blueprint,
    private readonly definitions: ReadonlyMap<string, AnyStreamlet>,
    private readonly report: Report,
  ) {
    this.names = new Set(blueprint.streamlets.map((streamlet) => streamlet.name));
    this.classOf = new Map(blueprint.streamlets.map((streamlet) => [streamlet.name, streamlet.className]));
  }

  isInlet(ref: PortRef): boolean {
    const definition = this.definitions.get(ref.streamlet);
    return definition !== undefined && Object.hasOwn(definition.inlets, ref.port);
  }

  /**
   * The schema of a port used as `role`, or undefined after reporting why it cannot be used so.
   * A port of a streamlet whose class did not resolve is not checked: that problem is reported.
   */
  schema(ref: PortRef, role: 'producer' | 'consumer', topic: string): Schema | undefined {
    const text = portText(ref);
    if (!this.names.has(ref.streamlet)) {
      this.report('unknown-streamlet', ref, `"${text}": no streamlet named "${ref.streamlet}" in this blueprint (streamlets: ${list([...this.names])})`);
      return undefined;
    }
    const definition = this.definitions.get(ref.streamlet);
    if (!definition) return undefined;
    const inlet = Object.hasOwn(definition.inlets, ref.port) ? definition.inlets[ref.port] : undefined;
    const outlet = Object.hasOwn(definition.outlets, ref.port) ? definition.outlets[ref.port] : undefined;
    const inlets = Object.keys(definition.inlets);
    const outlets = Object.keys(definition.outlets);
    if (role === 'producer' && outlet) return outlet.schema as Schema;
    if (role === 'consumer' && inlet) return inlet as Schema;
    if (role === 'producer' && inlet) {
      this.report('inlet-as-producer', ref, `"${text}" is an inlet, so it cannot produce to topic "${topic}" (outlets of ${ref.streamlet}: ${list(outlets)})`);
    } else if (role === 'consumer' && outlet) {
      this.report('outlet-as-consumer', ref, `"${text}" is an outlet, so it cannot consume topic "${topic}" (inlets of ${ref.streamlet}: ${list(inlets)})`);
    } else {
      const className = this.classOf.get(ref.streamlet) ?? '?';
      this.report(
        'unknown-port',
        ref,
        `streamlet "${ref.streamlet}" (${className}) has no port "${ref.port}" (inlets: ${list(inlets)}; outlets: ${list(outlets)})`,
      );
    }
    return undefined;
  }
}

function portText(ref: PortRef): string {
  return `${ref.streamlet}.${ref.port}`;
}

function list(names: readonly string[]): string {
  return names.length > 0 ? names.join(', ') : 'none';
}
