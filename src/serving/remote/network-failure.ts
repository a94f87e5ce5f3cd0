/** Socket and client error codes in words, for the failures the remote executors report. */
import { messageOf } from '../../core/errors.js';

const networkErrors: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** `connection refused (connect ECONNREFUSED 127.0.0.1:8001)`; the error's own message when its code is not a known one. */
export function networkFailure(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const phrase = typeof code === 'string' ? networkErrors[code] : undefined;
  return phrase ? `${phrase} (${messageOf(err)})` : messageOf(err);
}
