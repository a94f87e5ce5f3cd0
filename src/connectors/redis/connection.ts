/**
 * One Redis connection a connector reconnects itself, so that a Redis that is down at start and
 * one that goes away later look the same: a clear log line, backoff with jitter, and the
 * connector's own recovery (re-reading pending entries, writing a batch again) once it is back.
 * ioredis' own reconnecting and offline queue are off: a command either reaches Redis or fails
 * at once, and the connector decides what to do about it.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { untilConnected } from '../connect.js';
import { resolveSecret } from '../secret.js';

export const redisConnectionConfig = {
  url: config.string({
    description: 'Redis URL, redis://[user[:password]@]host:port[/db] or rediss:// for TLS (or env:NAME, file:/path)',
    default: 'redis://127.0.0.1:6379',
  }),
  password: config.string({ description: 'Password, if not in the URL: env:NAME, file:/path or the value', default: '' }),
  'connect-timeout': config.duration({ description: 'How long one connection attempt may take', default: 10_000, min: 1 }),
};

export interface RedisEndpoint {
  readonly url: string;
  readonly options: RedisOptions;
  /** The server without credentials, for logs and messages. */
  readonly server: string;
  /** Config key of the URL, for messages. */
  readonly urlKey: string;
}

export function redisEndpoint(
  streamlet: string,
  settings: { readonly url: string; readonly password: string; readonly 'connect-timeout': number },
): RedisEndpoint {
  const urlKey = `${streamlet}.url`;
  const url = resolveSecret(settings.url, urlKey);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: urlKey, message: 'not a URL: expected redis://host:port' });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', {
      where: urlKey,
      message: `${parsed.protocol} is not a Redis URL: expected redis://host:port or rediss://host:port`,
    });
  }
  const password = resolveSecret(settings.password, `${streamlet}.password`);
  return {
    url,
    options: {
      lazyConnect: true,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: settings['connect-timeout'],
      connectionName: `sluice-${streamlet}`,
      ...(password ? { password } : {}),
    },
    server: `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`,
    urlKey,
  };
}

/** A reply Redis gave (as opposed to a connection that failed); `code` is its first word, e.g. `WRONGTYPE`. */
export function replyCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return undefined;
  return /^[A-Z]+/.exec(err.message)?.[0];
}

const refusedAccess = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM']);

/** Keeps one connection, opening a new one (with backoff) whenever the last one failed. */
export class RedisConnection {
  private client: Redis | undefined;

  constructor(
    private readonly endpoint: RedisEndpoint,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {}

  /** The open connection, or a new one once Redis answers; undefined when the streamlet stopped first. */
  async connected(): Promise<Redis | undefined> {
    if (this.client?.status === 'ready') return this.client;
    this.close();
    const opened = await untilConnected(() => this.open(), { what: `Redis ${this.endpoint.server}`, log: this.log, signal: this.signal });
    if (opened instanceof SluiceError) throw opened;
    this.client = opened;
    return opened;
  }

  /** After a failed command: logs it and drops the connection; the next `connected()` opens a new one. */
  lost(err: unknown): void {
    this.log.warn(`lost the connection to Redis ${this.endpoint.server}; reconnecting`, { error: messageOf(err) });
    this.close();
  }

  /** Refused access is the configuration's fault: a SluiceError naming the URL key. */
  accessRefused(err: unknown): SluiceError | undefined {
    const code = replyCode(err);
    if (code === undefined || !refusedAccess.has(code)) return undefined;
    return new SluiceError(
      'SLUICE_ERR_CONFIG_INVALID',
      { where: this.endpoint.urlKey, message: `Redis ${this.endpoint.server} refused access: ${messageOf(err)}` },
      { cause: err },
    );
  }

  close(): void {
    this.client?.disconnect();
    this.client = undefined;
  }

  private async open(): Promise<Redis | SluiceError> {
    const client = new Redis(this.endpoint.url, this.endpoint.options);
    // ioredis reports why a connection failed only as an event; the rejected connect() just says it closed.
    let failure: unknown;
    client.on('error', (err: unknown) => {
      failure ??= err;
    });
    try {
      await client.connect();
      // Authentication happens on connect; a refused one may only show on the first command.
      await client.ping();
      return client;
    } catch (err) {
      client.disconnect();
      const cause = failure ?? err;
      const refused = this.accessRefused(cause);
      if (refused) return refused;
      throw cause instanceof Error ? cause : new Error(messageOf(cause));
    }
  }
}
