/**
 * The NATS connection of a connector. A server that is down at start is waited for with backoff
 * (each attempt logged); once connected, the client reconnects by itself, forever, with the same
 * backoff, resubscribing what was subscribed, and every disconnect and reconnect is logged.
 * Credentials that the server refuses stop the streamlet with a message naming the config key.
 */
import { AuthorizationError, connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { BackoffOptions } from '../../util/backoff.js';
import { defaultConnectBackoff, untilConnected } from '../connect.js';
import { resolveSecret } from '../secret.js';

export const natsConnectionConfig = {
  servers: config.string({ description: 'NATS servers, comma-separated: nats://host:port (tls:// for TLS)', default: 'nats://127.0.0.1:4222' }),
  user: config.string({ description: 'User name, if the server wants one', default: '' }),
  password: config.string({ description: "The user's password: env:NAME, file:/path or the value", default: '' }),
  token: config.string({ description: 'Authentication token: env:NAME, file:/path or the value', default: '' }),
  'connect-timeout': config.duration({ description: 'How long one connection attempt may take', default: 10_000, min: 1 }),
};

type ConnectionSettings = {
  readonly servers: string;
  readonly user: string;
  readonly password: string;
  readonly token: string;
  readonly 'connect-timeout': number;
};

export interface NatsEndpoint {
  readonly options: ConnectionOptions;
  /** The servers, for logs and messages. */
  readonly server: string;
  /** Config key of the servers, for messages. */
  readonly serversKey: string;
}

export function natsEndpoint(streamlet: string, settings: ConnectionSettings): NatsEndpoint {
  const serversKey = `${streamlet}.servers`;
  const servers = settings.servers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (servers.length === 0) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: serversKey, message: 'no server given' });
  for (const server of servers) {
    let url: URL | undefined;
    try {
      url = new URL(server.includes('://') ? server : `nats://${server}`);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'nats:' && url.protocol !== 'tls:') || !url.hostname) {
      throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', {
        where: serversKey,
        message: `${JSON.stringify(server)} is not a NATS server address: expected nats://host:port`,
      });
    }
  }
  const password = resolveSecret(settings.password, `${streamlet}.password`);
  const token = resolveSecret(settings.token, `${streamlet}.token`);
  return {
    options: {
      servers,
      name: `sluice-${streamlet}`,
      timeout: settings['connect-timeout'],
      ...(settings.user ? { user: settings.user, pass: password } : {}),
      ...(token ? { token } : {}),
    },
    server: servers.join(','),
    serversKey,
  };
}

/**
 * Connects, then runs `setup` on the new connection (streams, consumers); both are retried with
 * backoff until they work. `setup` returns a SluiceError for what retrying cannot fix.
 * Undefined when `signal` aborted first.
 */
export async function connectNats<S>(
  endpoint: NatsEndpoint,
  log: Logger,
  signal: AbortSignal,
  setup: (nc: NatsConnection) => Promise<S | SluiceError>,
): Promise<{ nc: NatsConnection; setup: S } | undefined> {
  const reconnectDelay = new OutageBackoff(defaultConnectBackoff);
  const attempt = async (): Promise<{ nc: NatsConnection; setup: S } | SluiceError> => {
    let nc: NatsConnection;
    try {
      nc = await connect({
        ...endpoint.options,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => reconnectDelay.next(),
      });
    } catch (err) {
      if (err instanceof AuthorizationError || (err instanceof Error && err.cause instanceof AuthorizationError)) {
        const message = `NATS ${endpoint.server} refused the credentials: ${describe(err)}`;
        return new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: endpoint.serversKey, message }, { cause: err });
      }
      throw new Error(describe(err), { cause: err });
    }
    try {
      const result = await setup(nc);
      if (result instanceof SluiceError) {
        await nc.close();
        return result;
      }
      void logStatus(nc, endpoint.server, log, reconnectDelay);
      return { nc, setup: result };
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  };
  const connected = await untilConnected(attempt, { what: `NATS ${endpoint.server}`, log, signal });
  if (connected instanceof SluiceError) throw connected;
  return connected;
}

/**
 * The client asks for its reconnect delay on every turn of its dial loop, not once per attempt,
 * so a counting backoff would run away. This one waits about as long as the outage has lasted
 * (so the gap between attempts doubles), within the backoff's bounds and with its jitter.
 */
class OutageBackoff {
  private outageStart: number | undefined;

  constructor(private readonly options: BackoffOptions) {}

  next(): number {
    this.outageStart ??= Date.now();
    const { min, max, jitter = 0 } = this.options;
    const delay = Math.min(max, Math.max(min, Date.now() - this.outageStart));
    return delay - delay * jitter * Math.random();
  }

  reset(): void {
    this.outageStart = undefined;
  }
}

async function logStatus(nc: NatsConnection, server: string, log: Logger, backoff: OutageBackoff): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') log.warn(`lost the connection to NATS ${server}; reconnecting`, { server: status.server });
    else if (status.type === 'reconnect') {
      backoff.reset();
      log.info(`reconnected to NATS ${server}`, { server: status.server });
    } else if (status.type === 'error') log.warn(`NATS ${server} reported an error`, { error: messageOf(status.error) });
  }
}

/** The client wraps the socket error (ECONNREFUSED, ENOTFOUND) as the cause. */
function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause !== undefined ? `: ${messageOf(err.cause)}` : '';
  return `${messageOf(err)}${cause}`;
}
