/**
 * Why one call to one endpoint failed, sorted by who is to blame: the endpoint (unreachable,
 * too slow, overloaded: the call is retried on another endpoint and counts against the
 * endpoint's circuit) or the request (the server answered that this request is wrong or that
 * the model failed on it: retrying elsewhere would only repeat the answer).
 */
export type FailureKind = 'endpoint' | 'request';

export class RemoteFailure extends Error {
  override readonly name = 'RemoteFailure';

  constructor(
    readonly kind: FailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** HTTP statuses that say "this server cannot answer now", not "this request is wrong". */
export function isEndpointStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/** The first `limit` characters of a server's error body, on one line, for a message. */
export function excerpt(body: string, limit = 300): string {
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > limit ? `${line.slice(0, limit)}…` : line;
}
