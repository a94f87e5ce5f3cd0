import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { Backoff, pause } from '../../util/backoff.js';
import type { NatsSettings } from './settings.js';

/**
 * Connects to the broker, waiting for it as long as it takes: a broker that is down at start
 * (or a name that does not resolve yet) is retried with backoff and every attempt is logged, so
 * a deployment that starts before its broker needs no crash loop. Once connected, the client
 * reconnects by itself forever; disconnects and reconnects are logged.
 * Rejects with SLUICE_ERR_NATS_CONNECT only when `signal` aborts first.
 */
export async function connectNats(settings: NatsSettings, log: Logger, signal?: AbortSignal, name = 'sluice'): Promise<NatsConnection> {
  const url = settings.servers.join(',');
  const backoff = new Backoff({ min: settings.connectBackoff.min, max: settings.connectBackoff.max, jitter: 0.2 });
  for (;;) {
    try {
      const nc = await connect({
        servers: [...settings.servers],
        name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: settings.connectBackoff.min,
        timeout: 5_000,
      });
      if (backoff.attempts > 0) log.info('connected to NATS', { url, attempts: backoff.attempts + 1 });
      void watchStatus(nc, url, log);
      return nc;
    } catch (err) {
      if (signal?.aborted) throw new SluiceError('SLUICE_ERR_NATS_CONNECT', { url, message: `gave up: ${messageOf(err)}` }, { cause: err });
      const delay = Math.round(backoff.next());
      log.warn('NATS not reachable; retrying', { url, error: describe(err), attempt: backoff.attempts, retryInMs: delay });
      await pause(delay, signal);
      if (signal?.aborted) throw new SluiceError('SLUICE_ERR_NATS_CONNECT', { url, message: `gave up: ${messageOf(err)}` }, { cause: err });
    }
  }
}

async function watchStatus(nc: NatsConnection, url: string, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') log.warn('NATS connection lost; reconnecting', { url, server: status.server });
    else if (status.type === 'reconnect') log.info('NATS connection restored', { url, server: status.server });
    else if (status.type === 'error') log.error('NATS connection error', { url, error: messageOf(status.error) });
  }
}

/** The error and its cause: the client wraps the socket error (ECONNREFUSED, ENOTFOUND) as the cause. */
function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause !== undefined ? `: ${messageOf(err.cause)}` : '';
  return `${messageOf(err)}${cause}`;
}
