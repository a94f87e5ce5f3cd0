import { connect, type NatsConnection } from '@nats-io/transport-node';
import { messageOf, SluiceError } from '../../core/errors.js';
import { natsParameters, parseServers } from './settings.js';

/** The default of `sluice.nats.url`, for commands that take `--nats-url`. */
export const DEFAULT_NATS_URL = natsParameters.url.default ?? 'nats://127.0.0.1:4222';

/**
 * A connection for a one-shot command (`sluice status`, `sluice scale`): no waiting for the
 * broker, which a person at a terminal wants to hear about at once. A malformed URL is
 * SLUICE_ERR_INVALID_ARGUMENT; a broker that does not answer, SLUICE_ERR_NATS_CONNECT.
 */
export async function connectOnce(url: string): Promise<NatsConnection> {
  const parsed = parseServers(url);
  if ('problem' in parsed) throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `--nats-url ${parsed.problem}` });
  try {
    return await connect({ servers: parsed.servers, reconnect: false, timeout: 3_000, name: 'sluice cli' });
  } catch (err) {
    const cause = err instanceof Error && err.cause !== undefined ? `: ${messageOf(err.cause)}` : '';
    throw new SluiceError('SLUICE_ERR_NATS_CONNECT', { url, message: `${messageOf(err)}${cause}` }, { cause: err });
  }
}
