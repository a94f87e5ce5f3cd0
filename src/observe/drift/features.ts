/**
 * What a drift detector or outlier scorer watches in a record: named features, each numeric or
 * categorical, read from a field of the record's schema or computed by a function (a nested
 * field, a result's score, a derived value). Declared as data and checked against the schema
 * when the streamlet is built, so a typo fails at once, naming the feature and the schema.
 */
import type avro from 'avsc';
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';

export const featureKinds = ['numeric', 'categorical'] as const;
export type FeatureKind = (typeof featureKinds)[number];

/** A feature's value in one record; null, undefined and NaN mean missing. */
export type FeatureValue = number | string | boolean | null | undefined;

/** A computed feature: its kind and how to read it from a record. */
export interface FeatureExtractor<R> {
  readonly kind: FeatureKind;
  readonly value: (record: R) => FeatureValue;
}

/**
 * A feature by its kind alone (the record field of the same name, checked against the schema),
 * or with a function that reads it.
 */
export type FeatureSpec<R> = FeatureKind | FeatureExtractor<R>;
export type FeatureSpecs<R> = Readonly<Record<string, FeatureSpec<R>>>;

/** A feature resolved against the schema: ready to read. */
export interface Feature<R> {
  readonly name: string;
  readonly kind: FeatureKind;
  read(record: R): FeatureValue;
}

const numericTypes = new Set(['int', 'long', 'float', 'double']);
const categoricalTypes = new Set(['string', 'enum', 'boolean', 'int', 'long']);

/**
 * The features of `specs`, in declaration order. Throws SLUICE_ERR_INVALID_ARGUMENT naming
 * `where` and every problem: no features, an unknown kind, a field the schema does not have or
 * whose type does not fit the kind.
 */
export function resolveFeatures<R>(schema: Schema<R>, specs: FeatureSpecs<R>, where: string): Feature<R>[] {
  const problems: string[] = [];
  const features: Feature<R>[] = [];
  const entries = Object.entries(specs as Readonly<Record<string, unknown>>);
  if (entries.length === 0) problems.push('no features are declared');
  for (const [name, spec] of entries) {
    const kind = typeof spec === 'string' ? spec : isExtractor(spec) ? spec.kind : undefined;
    if (!featureKinds.includes(kind as FeatureKind)) {
      problems.push(`feature '${name}' has ${kind === undefined ? 'no kind' : `an unknown kind '${String(kind)}'`} (kinds: ${featureKinds.join(', ')})`);
      continue;
    }
    if (isExtractor(spec)) {
      if (typeof spec.value !== 'function') problems.push(`feature '${name}': value must be a function of the record`);
      else features.push({ name, kind: kind as FeatureKind, read: spec.value as (record: R) => FeatureValue });
      continue;
    }
    const problem = fieldProblem(schema, name, kind as FeatureKind);
    if (problem) problems.push(problem);
    else features.push({ name, kind: kind as FeatureKind, read: (record) => (record as Readonly<Record<string, FeatureValue>>)[name] });
  }
  if (problems.length > 0) throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `${where}: ${problems.join('; ')}` });
  return features;
}

/** A numeric feature's value, or undefined when it is missing or not a finite number. */
export function numericValue(value: FeatureValue): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A categorical feature's value as a category name, or undefined when it is missing. */
export function categoryOf(value: FeatureValue): string | undefined {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return undefined;
  return String(value);
}

function isExtractor(spec: unknown): spec is FeatureExtractor<unknown> {
  return typeof spec === 'object' && spec !== null && 'kind' in spec;
}

/** Why the schema's field `name` cannot be a feature of this kind; undefined when it can. */
function fieldProblem(schema: Schema, name: string, kind: FeatureKind): string | undefined {
  const fields = (schema.type as Partial<avro.types.RecordType>).fields;
  if (!fields) return `feature '${name}': schema ${schema.name} is not a record, so features need a value function`;
  const field = fields.find((f) => f.name === name);
  if (!field)
    return `feature '${name}' is not a field of ${schema.name} (its fields: ${fields.map((f) => f.name).join(', ')}); give it a value function to compute it`;
  const types = (field.type as Partial<avro.types.UnwrappedUnionType>).types?.map((t) => t.typeName).filter((t) => t !== 'null') ?? [field.type.typeName];
  const allowed = kind === 'numeric' ? numericTypes : categoricalTypes;
  if (types.length !== 1 || !allowed.has(types[0] as string)) {
    return `feature '${name}' is ${kind}, but field ${schema.name}.${name} is ${types.join(' | ')} (${kind} takes ${[...allowed].join(', ')})`;
  }
  return undefined;
}
