/**
 * What blueprint validation reports: a list of typed problems, each naming the rule it breaks,
 * the HOCON key it is about and, when known, the line. Validation collects all of them so a
 * user fixes a blueprint in one pass instead of one error per run.
 */
import { formatPath, type SourcePosition } from '../core/hocon.js';

export const blueprintRules = [
  /** The HOCON text does not parse, or an include was refused. */
  'syntax',
  'missing-blueprint',
  'missing-streamlets',
  /** A value of the wrong shape, e.g. a class name that is not a string. */
  'invalid-value',
  /** A key the blueprint format does not know (usually a typo). */
  'unknown-key',
  /** A streamlet or topic name that is not a DNS-1123 label. */
  'invalid-name',
  'duplicate-streamlet',
  'duplicate-topic',
  'unknown-class',
  /** The class's package exists but its module could not be loaded or is not a streamlet package. */
  'class-load-failed',
  /** A port reference without a port, e.g. `x` instead of `x.out`. */
  'malformed-port',
  /** A port reference naming a streamlet the blueprint does not define. */
  'unknown-streamlet',
  'unknown-port',
  /** The same port listed twice in one topic. */
  'duplicate-port',
  'inlet-as-producer',
  'outlet-as-consumer',
  'inlet-multiple-topics',
  'unconnected-inlet',
  'incompatible-schema',
  /** Producers of one topic writing different schemas: a topic carries one writer schema. */
  'producer-schema-mismatch',
  'no-producer',
  /** Producers listed for `dead-letters`, which only the runtime writes. */
  'dead-letters-producer',
  /** A consumer of `dead-letters` whose inlet schema cannot read DeadLetter. */
  'dead-letter-schema',
] as const;

export type BlueprintRule = (typeof blueprintRules)[number];

export interface BlueprintProblem {
  readonly rule: BlueprintRule;
  readonly message: string;
  /** The HOCON path the problem is about, e.g. `blueprint.connections."data-ingress.out"[0]`. */
  readonly key: string;
  readonly position?: SourcePosition;
}

/** `file:line:column: message`; without a position, `file: key: message`. */
export function formatProblem(problem: BlueprintProblem, file = '<blueprint>'): string {
  const { position } = problem;
  if (position) return `${position.file}:${position.line}:${position.column}: ${problem.message}`;
  return problem.key === '' ? `${file}: ${problem.message}` : `${file}: ${problem.key}: ${problem.message}`;
}

/** Renders a HOCON path, quoting segments that would otherwise read as several keys; numbers are list indices. */
export function hoconKey(path: readonly (string | number)[]): string {
  let key = '';
  for (const segment of path) key += typeof segment === 'number' ? `[${segment}]` : (key === '' ? '' : '.') + formatPath([segment]);
  return key;
}

/** Sorts problems by file position (problems without one first), keeping detection order for ties. */
export function byPosition(a: BlueprintProblem, b: BlueprintProblem): number {
  const pa = a.position;
  const pb = b.position;
  if (!pa || !pb) return (pa ? 1 : 0) - (pb ? 1 : 0);
  if (pa.file !== pb.file) return pa.file < pb.file ? -1 : 1;
  return pa.line - pb.line || pa.column - pb.column;
}
