/**
 * Settings that only `sluice deploy` reads, under `sluice.deploy`: what each replica asks the
 * cluster for, and the size of the volumes. They sit in the same layered config as the rest
 * (defaults, `--conf` files, `key=value` overrides), are checked with positions like every other
 * setting, and are taken out before the application's own settings are checked and before the
 * config goes into the ConfigMap: a running streamlet never sees them.
 *
 * ```hocon
 * sluice.deploy {
 *   volume-size = 2Gi
 *   resources.model-serving { cpu = 1, memory = 1Gi, cpu-limit = 2 }
 * }
 * ```
 */
import type { Application } from '../blueprint/application.js';
import { parseConfigValues, type ConfigParameter } from '../core/config.js';
import { SluiceError } from '../core/errors.js';
import type { HoconDocument, HoconValue } from '../core/hocon.js';

export type HoconObject = { [key: string]: HoconValue };

/** Decimal multiples (and `m`, thousandths) and binary ones, as Kubernetes quantities take them. */
const quantityFactors: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const quantityPattern = /^(\d+(?:\.\d+)?|\.\d+)([a-zA-Z]*)$/;

/** The value of a Kubernetes quantity (`250m` is 0.25, `1Gi` is 2^30), or undefined when it is not one. */
export function quantityValue(text: string): number | undefined {
  const match = quantityPattern.exec(text);
  const factor = match ? quantityFactors[match[2] ?? ''] : undefined;
  return match && factor !== undefined ? Number(match[1]) * factor : undefined;
}

/** A Kubernetes quantity, kept as written; `optional` lets it be empty. */
function quantity(options: { description: string; default: string; what: 'cpu' | 'bytes'; optional?: boolean }): ConfigParameter<string> {
  const example = options.what === 'cpu' ? '250m or 2' : '512Mi or 1Gi';
  const parse = (raw: unknown): string => {
    const text = typeof raw === 'number' ? String(raw) : raw;
    if (typeof text !== 'string') throw new Error(`expected a Kubernetes quantity such as ${example}, got ${JSON.stringify(raw)}`);
    if (text === '' && options.optional) return text;
    const value = quantityValue(text);
    // Millibytes parse but are never meant: 512m of memory is a typo for 512Mi.
    if (value === undefined || (options.what === 'bytes' && text.endsWith('m'))) {
      throw new Error(`expected a Kubernetes quantity such as ${example}, got ${JSON.stringify(text)}`);
    }
    if (value <= 0) throw new Error(`must be more than 0, got ${JSON.stringify(text)}`);
    return text;
  };
  parse(options.default);
  return Object.freeze({ kind: 'string', description: options.description, default: options.default, parse });
}

const resourceParameters = {
  cpu: quantity({ description: 'CPU the scheduler reserves for each replica', default: '250m', what: 'cpu' }),
  memory: quantity({ description: 'Memory the scheduler reserves for each replica', default: '512Mi', what: 'bytes' }),
  'cpu-limit': quantity({ description: 'Most CPU a replica may use; empty: no limit', default: '', what: 'cpu', optional: true }),
  'memory-limit': quantity({
    description: 'Memory beyond which a replica is restarted; empty: the same as memory',
    default: '',
    what: 'bytes',
    optional: true,
  }),
};

const storageClassName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const deployParameters = {
  'volume-size': quantity({ description: 'Size of the volume claimed for each volume mount of each replica', default: '1Gi', what: 'bytes' }),
  'storage-class': {
    kind: 'string',
    description: 'StorageClass of the volume claims; empty: the cluster default',
    default: '',
    parse(raw: unknown): string {
      if (raw === '' || (typeof raw === 'string' && raw.length <= 253 && storageClassName.test(raw))) return raw;
      throw new Error(`expected a StorageClass name (lowercase letters, digits, '-' and '.'), got ${JSON.stringify(raw)}`);
    },
  } satisfies ConfigParameter<string>,
};

export interface ReplicaResources {
  readonly requests: Readonly<Record<'cpu' | 'memory', string>>;
  /** `memory` always; `cpu` only when a limit is set. */
  readonly limits: Readonly<Record<string, string>>;
}

export interface DeploySettings {
  readonly volumeSize: string;
  /** Empty: the cluster's default StorageClass. */
  readonly storageClass: string;
  readonly resources: ReadonlyMap<string, ReplicaResources>;
}

export const isObject = (value: HoconValue | undefined): value is HoconObject => value !== null && typeof value === 'object' && !Array.isArray(value);

/** `doc` without `sluice.deploy`; positions still come from `doc`. */
export function withoutDeploySection(doc: HoconDocument): HoconDocument {
  const sluice = doc.value.sluice;
  if (!isObject(sluice) || !Object.hasOwn(sluice, 'deploy')) return doc;
  const rest = Object.fromEntries(Object.entries(sluice).filter(([key]) => key !== 'deploy'));
  return { value: { ...doc.value, sluice: rest }, position: (path) => doc.position(path), definitions: (path) => doc.definitions(path) };
}

/** Reads `sluice.deploy` of the merged config; every problem is reported at once, with its file and line. */
export function resolveDeploySettings(merged: HoconDocument, application: Application): DeploySettings {
  const problems: { path: readonly string[]; message: string }[] = [];
  const report = (path: readonly string[], message: string) => problems.push({ path, message });
  const section = (value: HoconValue | undefined, path: readonly string[]): HoconObject => {
    if (value === undefined || isObject(value)) return value ?? {};
    report(path, `${path.join('.')} must be an object, got ${JSON.stringify(value)}`);
    return {};
  };
  const at = ['sluice', 'deploy'];
  const { resources: resourcesRaw, ...own } = section(isObject(merged.value.sluice) ? merged.value.sluice.deploy : undefined, at);
  const parsed = parseConfigValues(deployParameters, own);
  for (const p of parsed.problems) report([...at, p.key], `sluice.deploy.${p.key} ${p.message}`);

  const names = [...application.streamlets.keys()];
  const perStreamlet = section(resourcesRaw, [...at, 'resources']);
  for (const name of Object.keys(perStreamlet)) {
    if (!application.streamlets.has(name))
      report([...at, 'resources', name], `sluice.deploy.resources.${name}: the blueprint has no streamlet ${name} (streamlets: ${names.join(', ')})`);
  }
  const resources = new Map<string, ReplicaResources>();
  for (const name of names) {
    const path = [...at, 'resources', name];
    const own = parseConfigValues(resourceParameters, section(perStreamlet[name], path));
    for (const p of own.problems) report([...path, p.key], `sluice.deploy.resources.${name}.${p.key} ${p.message}`);
    const v = own.values;
    const memoryLimit = v['memory-limit'] || v.memory;
    // The API server refuses a limit under its request; say so here, with the key.
    for (const [limit, request, key] of [
      [v['cpu-limit'], v.cpu, 'cpu-limit'],
      [memoryLimit, v.memory, 'memory-limit'],
    ] as const) {
      if (limit !== '' && (quantityValue(limit) ?? 0) < (quantityValue(request) ?? 0)) {
        report([...path, key], `sluice.deploy.resources.${name}.${key} ${limit} is less than the request ${request} (${key.replace('-limit', '')})`);
      }
    }
    resources.set(
      name,
      Object.freeze({
        requests: { cpu: v.cpu, memory: v.memory },
        limits: { ...(v['cpu-limit'] === '' ? {} : { cpu: v['cpu-limit'] }), memory: memoryLimit },
      }),
    );
  }
  if (problems.length > 0) {
    // In the order of the files, as the application's own settings are reported.
    const lines = problems
      .map(({ path, message }) => ({ at: merged.position(path), message }))
      .sort((a, b) => (a.at?.file ?? '').localeCompare(b.at?.file ?? '') || (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.column ?? 0) - (b.at?.column ?? 0))
      .map(({ at, message }) => (at ? `${at.file}:${at.line}:${at.column}: ${message}` : message));
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: 'configuration', message: `${lines.length} problem(s):\n  ${lines.join('\n  ')}` });
  }
  return Object.freeze({ volumeSize: parsed.values['volume-size'], storageClass: parsed.values['storage-class'], resources });
}
