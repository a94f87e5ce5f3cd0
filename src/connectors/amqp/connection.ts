/**
 * One AMQP 0-9-1 connection with one channel, as the AMQP connectors use it. The pair lives and
 * dies together: `lost` says when either closed and why, and a new session is opened from
 * scratch (connection, channel, topology). Deliveries belong to the channel that carried them,
 * so nothing of a dead session is ever acknowledged on a new one.
 */
import { connect, type Channel, type ChannelModel, type Options } from 'amqplib';
import { config, type ConfigValues } from '../../core/config.js';
import { isSluiceError, messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { redactUrl } from '../redact-url.js';
import { untilConnected, type ConnectOptions } from '../connect.js';
import { resolveSecret } from '../secret.js';

/** The config parameters of the broker connection, shared by the AMQP ingress and egress. */
export const amqpConnectionParameters = {
  url: config.string({
    description: 'Broker URL amqp://[user:password@]host:port[/vhost] or amqps:// (env:NAME or file:/path keeps credentials out of config)',
    default: 'amqp://127.0.0.1:5672',
  }),
  username: config.string({ description: 'User name, or env:NAME / file:/path; empty: the one in the URL, else guest', default: '' }),
  password: config.string({ description: 'Password, or env:NAME / file:/path; empty: the one in the URL, else guest', default: '' }),
  heartbeat: config.duration({ description: 'How often the connection is checked when idle (0: never)', default: 30_000, min: 0 }),
  'connect-timeout': config.duration({ description: 'How long to wait for the broker to accept a connection', default: 10_000, min: 100 }),
};

export interface AmqpSettings {
  readonly connect: Options.Connect;
  /** The URL without credentials, for logs and errors. */
  readonly broker: string;
  readonly connectTimeoutMs: number;
}

/** Resolves secrets and checks the URL; throws SLUICE_ERR_CONFIG_INVALID naming the key. */
export function amqpSettings(values: ConfigValues<typeof amqpConnectionParameters>): AmqpSettings {
  const url = resolveSecret(values.url, 'url');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: 'url', message: `${JSON.stringify(redactUrl(url))} is not a URL (expected amqp://host:port)` });
  }
  if (!/^amqps?:$/.test(parsed.protocol) || parsed.hostname === '') {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', {
      where: 'url',
      message: `${JSON.stringify(redactUrl(url))} is not an AMQP broker URL (expected amqp:// or amqps:// with a host)`,
    });
  }
  const secure = parsed.protocol === 'amqps:';
  const username = resolveSecret(values.username, 'username') || decodeURIComponent(parsed.username) || 'guest';
  const password = resolveSecret(values.password, 'password') || decodeURIComponent(parsed.password) || 'guest';
  const vhost = parsed.pathname.length > 1 ? decodeURIComponent(parsed.pathname.slice(1)) : '/';
  const port = parsed.port ? Number(parsed.port) : secure ? 5671 : 5672;
  return {
    connect: {
      protocol: secure ? 'amqps' : 'amqp',
      hostname: parsed.hostname,
      port,
      username,
      password,
      vhost,
      heartbeat: Math.round(values.heartbeat / 1000),
    },
    broker: `${parsed.protocol}//${parsed.host}${vhost === '/' ? '' : `/${encodeURIComponent(vhost)}`}`,
    connectTimeoutMs: values['connect-timeout'],
  };
}

export interface AmqpSession<C extends Channel> {
  readonly channel: C;
  /** Resolves, never rejects, when the connection or the channel closed, with why. */
  readonly lost: Promise<Error>;
  readonly isLost: boolean;
  /** Closes the channel (the broker requeues what it had not been acknowledged) and the connection. */
  close(): Promise<void>;
}

/** How a connector's channel is made: created, then prepared (topology declared or checked). */
export interface ChannelOf<C extends Channel> {
  readonly create: (model: ChannelModel) => Promise<C>;
  readonly prepare: (channel: C) => Promise<void>;
  readonly onBlocked?: (reason: string | undefined) => void;
}

/**
 * Connects, opens a channel and prepares it (declares or checks topology); rejects with why the
 * broker could not be reached or refused.
 */
export async function openAmqpSession<C extends Channel>(settings: AmqpSettings, channelOf: ChannelOf<C>): Promise<AmqpSession<C>> {
  const model = await connect(settings.connect, { timeout: settings.connectTimeoutMs });
  let lastError: Error | undefined;
  let isLost = false;
  // Listen at once: a refused declaration closes the channel with an 'error' event before `prepare` rejects.
  const remember = (err: Error) => {
    lastError ??= err;
  };
  model.on('error', remember);
  let channel: C;
  try {
    channel = await channelOf.create(model);
    channel.on('error', remember);
    await channelOf.prepare(channel);
  } catch (err) {
    await model.close().catch(() => undefined);
    throw err;
  }
  const lost = new Promise<Error>((resolve) => {
    const gone = (what: string) => () => {
      if (isLost) return;
      isLost = true;
      resolve(lastError ?? new Error(`the broker closed the ${what}`));
      // One half gone ends the other, so nothing is left half-open.
      model.close().catch(() => undefined);
    };
    model.on('close', gone('connection'));
    channel.on('close', gone('channel'));
  });
  const { onBlocked } = channelOf;
  if (onBlocked) model.on('blocked', (reason: string) => onBlocked(reason)).on('unblocked', () => onBlocked(undefined));
  return {
    channel,
    lost,
    get isLost() {
      return isLost;
    },
    async close() {
      if (isLost) return;
      await channel.close().catch(() => undefined);
      await model.close().catch(() => undefined);
    },
  };
}

/**
 * Opens a session, retrying with backoff while the broker cannot be reached; a refused topology
 * (a config error) throws at once, since retrying would only repeat it. Undefined when the
 * signal aborted first.
 */
export async function untilSession<C extends Channel>(
  settings: AmqpSettings,
  channelOf: ChannelOf<C>,
  options: ConnectOptions,
): Promise<AmqpSession<C> | undefined> {
  const open = () =>
    openAmqpSession(settings, channelOf).catch((err: unknown) => (isSluiceError(err, 'SLUICE_ERR_CONFIG_INVALID') ? { refused: err } : Promise.reject(err)));
  const opened = await untilConnected(open, options);
  if (opened && 'refused' in opened) throw opened.refused;
  return opened;
}

/** Broker replies that mean the configuration is wrong (access refused, not found, declared differently): retrying will not help. */
export function isConfigRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 403 || code === 404 || code === 406;
}

/** Turns a refusal while declaring or checking topology into a config error naming the key. */
export function topologyError(err: unknown, where: string, what: string, broker: string): SluiceError<'SLUICE_ERR_CONFIG_INVALID'> {
  return new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where, message: `${what} on ${broker}: ${messageOf(err)}` }, { cause: err });
}

/** Logs when the broker stops reading from the connection (a resource alarm) and when it resumes. */
export function blockedLogger(log: Logger, broker: string): (reason: string | undefined) => void {
  return (reason) => (reason === undefined ? log.info(`${broker} accepts messages again`) : log.warn(`${broker} blocked the connection: ${reason}`));
}
