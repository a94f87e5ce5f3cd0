/**
 * Layered configuration of a running application: each streamlet's declared defaults, then
 * every `--conf` file in order (later wins), then `key=value` overrides from the command line
 * (win). Everything is parsed once, here, into typed frozen settings; every problem is reported
 * with the file and line, the streamlet and the key.
 */
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import type { Application } from '../blueprint/application.js';
import { config, parseConfigValues, type ConfigParameters } from '../core/config.js';
import { SluiceError } from '../core/errors.js';
import { mergeDocuments, parseHocon, type HoconDocument, type HoconValue } from '../core/hocon.js';
import type { HostSettings, StreamletSettings } from './host.js';
import { resolveNatsSettings, type NatsSettings } from './nats/settings.js';

/** Settings of the application itself, under `sluice`. */
const hostParameters = {
  'http.host': config.string({ description: 'Address the HTTP endpoints listen on', default: '127.0.0.1' }),
  'http.port': config.integer({ description: 'Port of the HTTP endpoints (/state, /streamlets); 0 picks a free one', default: 5000, min: 0, max: 65_535 }),
  'state-directory': config.string({ description: 'Where volume mounts live unless configured one by one; empty means .sluice/<blueprint name>', default: '' }),
  'drain-timeout': config.duration({ description: 'How long a stop waits for in-flight work', default: 10_000, min: 0 }),
  'restart.max-restarts': config.integer({ description: 'Restarts of a failing streamlet before the application stops', default: 3, min: 0 }),
  'restart.backoff-min': config.duration({ description: 'First restart delay; it doubles per restart', default: 100, min: 0 }),
  'restart.backoff-max': config.duration({ description: 'Longest restart delay', default: 5_000, min: 0 }),
  'batch.max-size': config.integer({ description: 'Default most records a streamlet reads at once', default: 512, min: 1 }),
  'batch.max-wait': config.duration({ description: 'Default wait for a batch to fill', default: 0, min: 0 }),
  'local.topic-capacity': config.integer({ description: 'Records a local topic holds before producers wait', default: 8_192, min: 1 }),
  'log.level': config.string({ description: 'debug, info, warn, error or silent', default: 'info', pattern: /^(debug|info|warn|error|silent)$/ }),
  'metrics.enabled': config.boolean({ description: 'Count records, model calls and errors for GET /metrics', default: true }),
} satisfies ConfigParameters;

export interface ApplicationSettings {
  readonly host: HostSettings;
  readonly streamlets: ReadonlyMap<string, StreamletSettings>;
  readonly topicCapacity: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readonly metricsEnabled: boolean;
  /** The JetStream runtime's settings, under `sluice.nats` (used with `--runtime nats`). */
  readonly nats: NatsSettings;
}

/**
 * `key=value` arguments as a HOCON document. A key whose first segment names a streamlet is
 * shorthand for that streamlet's config: `data-ingress.seed=7` sets
 * `sluice.streamlets.data-ingress.config.seed`.
 */
export function overridesDocument(overrides: readonly string[], streamletNames: ReadonlySet<string>): HoconDocument {
  const lines = overrides.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `override ${JSON.stringify(arg)} is not key=value` });
    const path = arg.slice(0, eq).trim().split('.');
    const full = path[0] !== 'sluice' && streamletNames.has(path[0] ?? '') ? ['sluice', 'streamlets', path[0] ?? '', 'config', ...path.slice(1)] : path;
    return `${full.map((segment) => JSON.stringify(segment)).join('.')} = ${JSON.stringify(arg.slice(eq + 1))}`;
  });
  return parseHocon(lines.join('\n'), { file: '<command line>' });
}

export function resolveSettings(application: Application, layers: readonly HoconDocument[], cwd = process.cwd()): ApplicationSettings {
  const merged = mergeDocuments(layers);
  const problems: { path: readonly string[]; message: string }[] = [];
  const report = (path: readonly string[], message: string) => problems.push({ path, message });
  /** The object at `path`; anything else there is reported and read as empty. */
  const section = (value: HoconValue | undefined, path: readonly string[]): HoconObject => {
    if (value === undefined) return {};
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
    report(path, `${path.join('.')} must be an object, got ${JSON.stringify(value)}`);
    return {};
  };

  for (const key of Object.keys(merged.value)) {
    if (key !== 'sluice')
      report(
        [key],
        `unknown key ${key}: settings live under sluice, and <streamlet>.<key> names a streamlet's config (streamlets: ${[...application.streamlets.keys()].join(', ')})`,
      );
  }
  const { streamlets: streamletsRaw, nats: natsRaw, ...ownRaw } = section(merged.value.sluice, ['sluice']);
  const host = parseConfigValues(hostParameters, flatten(ownRaw));
  for (const p of host.problems) report(['sluice', ...p.key.split('.')], `sluice.${p.key} ${p.message}`);

  const appName = basename(application.file, extname(application.file));
  const { replicas: replicasRaw, ...natsOwn } = section(natsRaw, ['sluice', 'nats']);
  const nats = resolveNatsSettings(flatten(natsOwn), section(replicasRaw, ['sluice', 'nats', 'replicas']), application, appName, report);
  const stateDirectory = resolve(cwd, host.values['state-directory'] || join('.sluice', appName));
  const streamletsConfig = section(streamletsRaw, ['sluice', 'streamlets']);
  for (const name of Object.keys(streamletsConfig)) {
    if (!application.streamlets.has(name)) {
      report(
        ['sluice', 'streamlets', name],
        `sluice.streamlets.${name}: the blueprint has no streamlet ${name} (streamlets: ${[...application.streamlets.keys()].join(', ')})`,
      );
    }
  }

  const streamlets = new Map<string, StreamletSettings>();
  for (const [name, streamlet] of application.streamlets) {
    const at = ['sluice', 'streamlets', name];
    const { config: configRaw, 'volume-mounts': mountsRaw, ...unknown } = section(streamletsConfig[name], at);
    for (const key of Object.keys(unknown)) report([...at, key], `streamlet ${name}: unknown setting ${key} (settings: config, volume-mounts)`);
    const parsed = parseConfigValues(streamlet.definition.config, section(configRaw, [...at, 'config']));
    for (const p of parsed.problems) report([...at, 'config', p.key], `streamlet ${name}: config ${p.key} ${p.message}`);

    const declared = streamlet.definition.volumeMounts;
    const mounts = section(mountsRaw, [...at, 'volume-mounts']);
    const volumes: Record<string, string> = {};
    for (const mount of Object.keys(declared)) {
      const given = mounts[mount];
      if (given === undefined) volumes[mount] = join(stateDirectory, name, mount);
      else if (typeof given === 'string' && given.trim() !== '') volumes[mount] = isAbsolute(given) ? given : resolve(cwd, given);
      else report([...at, 'volume-mounts', mount], `streamlet ${name}: volume mount ${mount} must be a directory path, got ${JSON.stringify(given)}`);
    }
    for (const mount of Object.keys(mounts)) {
      if (!Object.hasOwn(declared, mount))
        report([...at, 'volume-mounts', mount], `streamlet ${name}: no volume mount ${mount} (mounts: ${Object.keys(declared).join(', ') || 'none'})`);
    }
    streamlets.set(name, Object.freeze({ config: parsed.values, volumes: Object.freeze(volumes) }));
  }

  if (problems.length > 0) {
    const lines = problems
      .map(({ path, message }) => ({ at: merged.position(path), message }))
      .sort((a, b) => (a.at?.file ?? '').localeCompare(b.at?.file ?? '') || (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.column ?? 0) - (b.at?.column ?? 0))
      .map(({ at, message }) => (at ? `${at.file}:${at.line}:${at.column}: ${message}` : message));
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: 'configuration', message: `${lines.length} problem(s):\n  ${lines.join('\n  ')}` });
  }
  const v = host.values;
  return Object.freeze({
    host: Object.freeze({
      http: { host: v['http.host'], port: v['http.port'] },
      drainTimeout: v['drain-timeout'],
      restart: { maxRestarts: v['restart.max-restarts'], backoffMin: v['restart.backoff-min'], backoffMax: v['restart.backoff-max'] },
      batch: { maxSize: v['batch.max-size'], maxWait: v['batch.max-wait'] },
    }),
    streamlets,
    topicCapacity: v['local.topic-capacity'],
    logLevel: v['log.level'] as ApplicationSettings['logLevel'],
    metricsEnabled: v['metrics.enabled'],
    nats,
  });
}

type HoconObject = { [key: string]: HoconValue };

/** `{http: {port: 1}}` → `{'http.port': 1}`, so nested settings are checked like flat config keys. */
function flatten(object: HoconObject, prefix = ''): Record<string, HoconValue> {
  const flat: Record<string, HoconValue> = {};
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(flat, flatten(value, path));
    else flat[path] = value;
  }
  return flat;
}
