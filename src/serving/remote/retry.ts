/**
 * One logical call over an endpoint set: each attempt goes to the endpoint the balancer picks,
 * a retry to another endpoint than those already tried when there is one, after an exponential
 * backoff with jitter. An endpoint failure is retried; a request failure (the server answered
 * no) is not. When every circuit is open the call fails at once: no waiting on dead servers.
 */
import { messageOf } from '../../core/errors.js';
import { Backoff, pause, type BackoffOptions } from '../../util/backoff.js';
import type { Endpoint, EndpointSet } from './endpoints.js';
import { RemoteFailure } from './failure.js';

export interface RetryOptions {
  /** Attempts after the first one. */
  readonly retries: number;
  readonly backoff: BackoffOptions;
  readonly signal?: AbortSignal;
}

/**
 * Every attempt of a call failed, or none could start. `unavailable` when no endpoint answered
 * at all (unreachable, timed out, overloaded, circuits open), as opposed to a server's refusal.
 */
export class CallFailed extends Error {
  override readonly name = 'CallFailed';

  constructor(
    message: string,
    readonly unavailable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export async function callWithRetries<Connection, T>(
  endpoints: EndpointSet<Connection>,
  attempt: (endpoint: Endpoint<Connection>) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const tried = new Set<Endpoint<Connection>>();
  const failures: string[] = [];
  let backoff: Backoff | undefined;
  for (let n = 0; n <= options.retries; n++) {
    if (n > 0) {
      backoff ??= new Backoff(options.backoff);
      await pause(backoff.next(), options.signal);
    }
    options.signal?.throwIfAborted();
    const endpoint = endpoints.pick(tried);
    if (endpoint === undefined) {
      const before = failures.length > 0 ? `${attempts(failures)}; then ` : '';
      throw new CallFailed(`${before}no endpoint can take the call: ${endpoints.describe()}`, true);
    }
    endpoint.breaker.begin();
    endpoint.outstanding++;
    try {
      const result = await attempt(endpoint);
      endpoint.breaker.succeeded();
      return result;
    } catch (err) {
      if (options.signal?.aborted) {
        endpoint.breaker.abandoned();
        throw options.signal.reason;
      }
      const message = messageOf(err);
      if (err instanceof RemoteFailure && err.kind === 'endpoint') {
        endpoint.breaker.failed(message);
        failures.push(`${endpoint.url}: ${message}`);
        tried.add(endpoint);
        continue;
      }
      // The server answered: it is healthy, and the same request would get the same answer elsewhere.
      endpoint.breaker.succeeded();
      const after = failures.length > 0 ? ` (after ${attempts(failures)})` : '';
      throw new CallFailed(`${endpoint.url}: ${message}${after}`, false, { cause: err });
    } finally {
      endpoint.outstanding--;
    }
  }
  throw new CallFailed(attempts(failures), true);
}

function attempts(failures: readonly string[]): string {
  return `${failures.length} attempt(s) failed: ${failures.join('; ')}`;
}
