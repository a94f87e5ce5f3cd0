/**
 * Settings of the JetStream runtime, under `sluice.nats`. Declared as config parameters so they
 * are parsed, checked and reported like every other setting; `sluice.nats.replicas` gives the
 * processes per streamlet (`{ model-serving = 4 }`, default 1).
 */
import type { Application } from '../../blueprint/application.js';
import { config, parseConfigValues, type ConfigValues } from '../../core/config.js';
import { brokerName } from './names.js';

export const natsParameters = {
  url: config.string({ description: 'NATS server URL(s), comma-separated (nats://host:port)', default: 'nats://127.0.0.1:4222' }),
  application: config.string({
    description: 'Name of the application on the broker, prefix of its streams, consumers and buckets; empty means the blueprint file name',
    default: '',
  }),
  'connect.backoff-min': config.duration({ description: 'First wait before retrying to reach the broker; it doubles per attempt', default: 250, min: 1 }),
  'connect.backoff-max': config.duration({ description: 'Longest wait between attempts to reach the broker', default: 5_000, min: 1 }),
  'stream.max-age': config.duration({ description: 'How long a topic keeps records (0: no limit)', default: 0, min: 0 }),
  'stream.max-bytes': config.memorySize({ description: 'Most bytes a topic keeps; the oldest go first (0: no limit)', default: 0 }),
  'stream.replicas': config.integer({ description: 'Copies of each stream in a NATS cluster', default: 1, min: 1, max: 5 }),
  'stream.duplicate-window': config.duration({
    description: 'How long the broker remembers message ids to drop re-published outputs',
    default: 120_000,
    min: 100,
  }),
  'consumer.max-ack-pending': config.integer({
    description: 'Records of one inlet delivered and not yet committed, over all its replicas',
    default: 8_192,
    min: 1,
  }),
  'consumer.ack-wait': config.duration({
    description: 'How long a delivered record may stay uncommitted before it is delivered again',
    default: 30_000,
    min: 1_000,
  }),
  'consumer.max-messages': config.integer({ description: 'Records one pull asks the broker for', default: 1_024, min: 1 }),
  'publish.window': config.integer({ description: 'Publishes a process keeps in flight before writers wait', default: 4_096, min: 1 }),
  'publish.timeout': config.duration({ description: 'Wait for the broker to acknowledge a publish before sending it again', default: 5_000, min: 100 }),
  'inline-limit': config.memorySize({
    description: 'Largest record sent inside a message; larger ones go to the object store (bounded by the server max_payload)',
    default: 256 * 1024,
    min: 1,
  }),
} as const;

export interface NatsSettings {
  /** Server URLs, checked. */
  readonly servers: readonly string[];
  /** The application's name on the broker, sanitized; empty until the blueprint fills it in. */
  readonly application: string;
  readonly connectBackoff: { readonly min: number; readonly max: number };
  readonly stream: { readonly maxAge: number; readonly maxBytes: number; readonly replicas: number; readonly duplicateWindow: number };
  readonly consumer: { readonly maxAckPending: number; readonly ackWait: number; readonly maxMessages: number };
  readonly publish: { readonly window: number; readonly timeout: number };
  readonly inlineLimit: number;
  /** Replicas per streamlet: processes a supervisor keeps running. */
  readonly replicas: ReadonlyMap<string, number>;
}

const replicaCount = config.integer({ description: 'Processes running one streamlet side by side', default: 1, min: 0, max: 1_000 });

/**
 * Parses `sluice.nats.url`: `nats://host:port`, `tls://...`, or a bare `host:port`. Returns the
 * message of the first problem, or the servers.
 */
export function parseServers(raw: string): { servers: string[] } | { problem: string } {
  const servers = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) return { problem: 'names no server' };
  for (const server of servers) {
    let url: URL;
    try {
      url = new URL(server.includes('://') ? server : `nats://${server}`);
    } catch {
      return { problem: `${JSON.stringify(server)} is not a URL (expected nats://host:port)` };
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') return { problem: `${JSON.stringify(server)}: scheme ${url.protocol} is not nats: or tls:` };
    if (url.hostname === '') return { problem: `${JSON.stringify(server)} has no host` };
    if (url.pathname !== '' && url.pathname !== '/') return { problem: `${JSON.stringify(server)}: a NATS URL has no path (${url.pathname})` };
  }
  return { servers };
}

/**
 * The `sluice.nats` settings: `values` flattened (`stream.max-age`), `replicas` per streamlet.
 * Every problem goes to `report` with its path; the result holds defaults where values are wrong.
 */
export function resolveNatsSettings(
  values: Readonly<Record<string, unknown>>,
  replicas: Readonly<Record<string, unknown>>,
  application: Application,
  blueprintName: string,
  report: (path: readonly string[], message: string) => void,
): NatsSettings {
  const parsed = parseConfigValues(natsParameters, values);
  for (const p of parsed.problems) report(['sluice', 'nats', ...p.key.split('.')], `sluice.nats.${p.key} ${p.message}`);
  const servers = parseServers(parsed.values.url);
  if ('problem' in servers) report(['sluice', 'nats', 'url'], `sluice.nats.url ${servers.problem}`);
  const counts = new Map<string, number>();
  for (const name of application.streamlets.keys()) counts.set(name, 1);
  for (const [name, raw] of Object.entries(replicas)) {
    const at = ['sluice', 'nats', 'replicas', name];
    if (!application.streamlets.has(name)) {
      report(at, `sluice.nats.replicas.${name}: the blueprint has no streamlet ${name} (streamlets: ${[...application.streamlets.keys()].join(', ')})`);
      continue;
    }
    try {
      counts.set(name, replicaCount.parse(raw));
    } catch (err) {
      report(at, `sluice.nats.replicas.${name} ${(err as Error).message}`);
    }
  }
  const v: ConfigValues<typeof natsParameters> = parsed.values;
  return Object.freeze({
    servers: Object.freeze('servers' in servers ? servers.servers : []),
    application: brokerName(v.application || blueprintName),
    connectBackoff: { min: v['connect.backoff-min'], max: v['connect.backoff-max'] },
    stream: { maxAge: v['stream.max-age'], maxBytes: v['stream.max-bytes'], replicas: v['stream.replicas'], duplicateWindow: v['stream.duplicate-window'] },
    consumer: { maxAckPending: v['consumer.max-ack-pending'], ackWait: v['consumer.ack-wait'], maxMessages: v['consumer.max-messages'] },
    publish: { window: v['publish.window'], timeout: v['publish.timeout'] },
    inlineLimit: v['inline-limit'],
    replicas: counts,
  });
}
