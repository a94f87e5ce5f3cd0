/**
 * Connecting to an external service that may be down: try, log why it failed and when the next
 * try is, back off with jitter, and try again until it works or the streamlet stops. A service
 * down at start is then the same as a service that goes away later: a clear log line, no crash
 * loop, nothing lost.
 */
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { Backoff, pause, type BackoffOptions } from '../util/backoff.js';

export interface ConnectOptions {
  /** What is being connected to, for the log: e.g. `MQTT broker mqtt://127.0.0.1:1883`. */
  readonly what: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly backoff?: BackoffOptions;
}

export const defaultConnectBackoff: BackoffOptions = { min: 100, max: 5_000, jitter: 0.2 };

/** The result of `connect`, once it succeeds; `undefined` when `signal` aborted first. */
export async function untilConnected<T>(connect: () => Promise<T>, options: ConnectOptions): Promise<T | undefined> {
  const backoff = new Backoff(options.backoff ?? defaultConnectBackoff);
  while (!options.signal.aborted) {
    try {
      const connection = await connect();
      if (backoff.attempts > 0) options.log.info(`connected to ${options.what}`, { attempts: backoff.attempts + 1 });
      return connection;
    } catch (err) {
      const delay = backoff.next();
      options.log.warn(`cannot connect to ${options.what}; retrying`, { error: messageOf(err), attempt: backoff.attempts, retryInMs: Math.round(delay) });
      await pause(delay, options.signal);
    }
  }
  return undefined;
}
