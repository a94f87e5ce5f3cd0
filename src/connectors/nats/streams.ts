/**
 * The JetStream stream and durable consumer a connector uses, checked (or created, when the
 * config says so) once connected. What retrying cannot fix comes back as a SluiceError naming
 * the config key; a lost connection is thrown, so the caller connects again.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { messageOf, SluiceError } from '../../core/errors.js';

export interface StreamSettings {
  /** Stream name; may be empty for an egress, which then publishes to whichever stream takes the subject. */
  readonly stream: string;
  readonly subject: string;
  readonly create: boolean;
  /** For a stream Sluice creates: how long (ms) a `Nats-Msg-Id` is remembered to drop duplicates. */
  readonly duplicateWindow: number;
  /** The streamlet's name, for config keys in messages. */
  readonly streamlet: string;
}

export interface ConsumerSettings {
  readonly durable: string;
  /** Only messages on this subject; empty: all of the stream. */
  readonly filter: string;
  readonly deliverFrom: 'all' | 'new';
  readonly ackWait: number;
  readonly maxAckPending: number;
}

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

const configError = (streamlet: string, key: string, message: string, cause?: unknown) =>
  new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: `${streamlet}.${key}`, message }, cause === undefined ? undefined : { cause });

const isApiError = (err: unknown, code: number) => err instanceof JetStreamApiError && err.code === code;

export async function manager(nc: NatsConnection, streamlet: string): Promise<JetStreamManager | SluiceError> {
  try {
    return await jetstreamManager(nc);
  } catch (err) {
    if (err instanceof Error && err.name === 'JetStreamNotEnabled')
      return configError(streamlet, 'servers', `JetStream is not enabled on this NATS server: ${err.message}`, err);
    throw err;
  }
}

/** The name of the stream the egress publishes into: the one whose subjects take `subject`. */
export async function streamTaking(jsm: JetStreamManager, settings: StreamSettings): Promise<string | SluiceError> {
  const { stream, subject, streamlet } = settings;
  let found: string;
  try {
    found = await jsm.streams.find(subject);
  } catch (err) {
    if (!isApiError(err, STREAM_NOT_FOUND)) throw err;
    if (settings.create && stream) return createStream(jsm, settings);
    const how = settings.create ? 'name it in stream to have it created' : 'create one, or set create-stream = true and stream = <name>';
    return configError(streamlet, 'subject', `no JetStream stream takes subject ${subject} (${how})`);
  }
  if (stream && found !== stream) return configError(streamlet, 'stream', `subject ${subject} goes to stream ${found}, not ${stream}`);
  return found;
}

/** Checks the stream the ingress reads exists, creating it when configured to. */
export async function openStream(jsm: JetStreamManager, settings: StreamSettings): Promise<string | SluiceError> {
  try {
    await jsm.streams.info(settings.stream);
    return settings.stream;
  } catch (err) {
    if (!isApiError(err, STREAM_NOT_FOUND)) throw err;
    if (!settings.create)
      return configError(settings.streamlet, 'stream', `JetStream stream ${settings.stream} does not exist (set create-stream = true to create it)`);
    if (!settings.subject) return configError(settings.streamlet, 'subject', `creating stream ${settings.stream} needs the subject it takes`);
    return createStream(jsm, settings);
  }
}

async function createStream(jsm: JetStreamManager, settings: StreamSettings): Promise<string | SluiceError> {
  try {
    await jsm.streams.add({ name: settings.stream, subjects: [settings.subject], duplicate_window: nanos(settings.duplicateWindow) });
    return settings.stream;
  } catch (err) {
    if (!(err instanceof JetStreamApiError)) throw err;
    return configError(settings.streamlet, 'stream', `cannot create JetStream stream ${settings.stream}: ${messageOf(err)}`, err);
  }
}

/** Checks the durable pull consumer, creating it (explicit acks) when it does not exist. */
export async function openConsumer(jsm: JetStreamManager, stream: string, streamlet: string, settings: ConsumerSettings): Promise<SluiceError | undefined> {
  try {
    const info = await jsm.consumers.info(stream, settings.durable);
    const filter = info.config.filter_subject ?? '';
    if (filter !== settings.filter) {
      return configError(
        streamlet,
        'subject',
        `durable consumer ${settings.durable} of stream ${stream} exists with filter ${JSON.stringify(filter)}, not ${JSON.stringify(settings.filter)}`,
      );
    }
    if (info.config.ack_policy !== AckPolicy.Explicit)
      return configError(streamlet, 'durable', `durable consumer ${settings.durable} of stream ${stream} does not use explicit acks`);
    return undefined;
  } catch (err) {
    if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
  }
  try {
    await jsm.consumers.add(stream, {
      durable_name: settings.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: settings.deliverFrom === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
      ack_wait: nanos(settings.ackWait),
      max_ack_pending: settings.maxAckPending,
      ...(settings.filter ? { filter_subject: settings.filter } : {}),
    });
    return undefined;
  } catch (err) {
    if (!(err instanceof JetStreamApiError)) throw err;
    return configError(streamlet, 'durable', `cannot create durable consumer ${settings.durable} of stream ${stream}: ${messageOf(err)}`, err);
  }
}
