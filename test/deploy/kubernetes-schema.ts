/**
 * Checks a manifest object against the Kubernetes OpenAPI schemas of `kubernetes-models`: the
 * model's validate() (types, required fields, formats), and unknown fields, which the models do
 * not reject. For those, the object is validated through proxies that record every property the
 * generated validator reads: it reads each property its schema declares (and every entry of a
 * map), so a property it never read is one the schema does not have.
 */
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';

type Model = { prototype: { validate(): void } };

const models: Readonly<Record<string, Model>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
};

/** Validates `object` against its kind's schema; returns the schema violations and the unknown fields, by path. */
export function schemaProblems(object: Record<string, unknown>): string[] {
  const kind = `${String(object.apiVersion)}/${String(object.kind)}`;
  const model = models[kind];
  if (!model) return [`no schema for ${kind}`];
  const read = new Map<object, Set<PropertyKey>>();
  const watch = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(on, key, receiver) {
        let keys = read.get(on);
        if (!keys) read.set(on, (keys = new Set()));
        keys.add(key);
        const value: unknown = Reflect.get(on, key, receiver);
        return value !== null && typeof value === 'object' ? watch(value) : value;
      },
    });
  const problems: string[] = [];
  try {
    model.prototype.validate.call(watch(object));
  } catch (err) {
    problems.push(`${kind}: ${(err as Error).message}`);
  }
  const unknown = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => unknown(item, `${path}[${i}]`));
      return;
    }
    const keys = read.get(value) ?? new Set();
    for (const [key, child] of Object.entries(value)) {
      if (!keys.has(key)) problems.push(`${kind}: ${path}.${key} is not a field of the schema`);
      else unknown(child, `${path}.${key}`);
    }
  };
  unknown(object, kind);
  return problems;
}
