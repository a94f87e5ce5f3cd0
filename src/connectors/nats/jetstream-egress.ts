/**
 * JetStream egress: publishes one message per record of its inlet and commits a batch only after
 * JetStream acknowledged every message of it (stored). A message without an ack (a lost
 * connection, no stream, a timeout) is published again with backoff until it has one. Given a
 * `key`, each message carries `Nats-Msg-Id: <key>`, so the stream drops one it already stored
 * within its duplicate window: effectively-once. Without a key: at-least-once.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { config } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet } from '../../core/streamlet.js';
import { Backoff, pause } from '../../util/backoff.js';
import { defaultConnectBackoff } from '../connect.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { rejectionReporter } from '../rejections.js';
import { connectNats, natsConnectionConfig, natsEndpoint } from './connection.js';
import { AckedPublisher, type Outbound } from './publisher.js';
import { manager, streamTaking } from './streams.js';
import { publishSubjectPattern } from './subjects.js';

export interface JetStreamEgressOptions<T> {
  readonly schema: Schema<T>;
  /** The record's identity, sent as `Nats-Msg-Id`: a record published again within the duplicate window is stored once. */
  readonly key?: (value: T) => string;
}

export function jetStreamEgress<T>(options: JetStreamEgressOptions<T>) {
  const guarantee = options.key ? 'effectively-once on its key' : 'at-least-once';
  return defineStreamlet({
    description: `Publishes ${options.schema.name} records to a JetStream stream (${guarantee})`,
    inlets: { in: options.schema },
    config: {
      ...natsConnectionConfig,
      subject: config.string({ description: 'Subject to publish to; a stream must take it', pattern: publishSubjectPattern }),
      stream: config.string({
        description: 'The stream expected to take the subject (created with create-stream); empty: any',
        default: '',
        pattern: /^[^\s.*>]*$/,
      }),
      'create-stream': config.boolean({ description: 'Create the stream, taking subject, when no stream takes it', default: false }),
      'duplicate-window': config.duration({ description: 'Of a stream Sluice creates: how long a message id is remembered', default: 120_000, min: 1 }),
      format: formatParameter,
      'batch-size': config.integer({ description: 'Most messages published before waiting for their acks', default: 1000, min: 1 }),
      'ack-timeout': config.duration({ description: 'How long to wait for acks before publishing what has none again', default: 10_000, min: 1 }),
    },
    async run(ctx) {
      const { subject } = ctx.config;
      const setup = async (nc: NatsConnection) => {
        const jsm = await manager(nc, ctx.name);
        if (jsm instanceof SluiceError) return jsm;
        const settings = {
          stream: ctx.config.stream,
          subject,
          create: ctx.config['create-stream'],
          duplicateWindow: ctx.config['duplicate-window'],
          streamlet: ctx.name,
        };
        return streamTaking(jsm, settings);
      };
      const connected = await connectNats(natsEndpoint(ctx.name, ctx.config), ctx.log, ctx.signal, setup);
      if (!connected) return;
      const codec = payloadCodec(options.schema, ctx.config.format);
      const rejections = rejectionReporter(ctx);
      const publisher = new AckedPublisher(connected.nc);
      const target = `JetStream stream ${connected.setup} (subject ${subject})`;

      /** True once every message has an ack or was refused; false when the streamlet stopped first. */
      const publishAll = async (messages: readonly Outbound[]): Promise<boolean> => {
        const backoff = new Backoff(defaultConnectBackoff);
        for (let pending = messages; pending.length > 0;) {
          const outcomes = await publisher.publish(subject, pending, ctx.config['ack-timeout']);
          const again: Outbound[] = [];
          let lastError = '';
          outcomes.forEach((outcome, i) => {
            if (outcome.ok) return;
            if (outcome.retry) {
              again.push(pending[i]!);
              lastError = outcome.error;
            } else {
              rejections.reject('refused', new SluiceError('SLUICE_ERR_RECORD_REFUSED', { target, message: outcome.error }), { subject, id: pending[i]!.id });
            }
          });
          if (again.length > 0) {
            const delay = backoff.next();
            ctx.log.warn(`${target}: ${again.length} of ${pending.length} messages not acknowledged; publishing them again`, {
              error: lastError,
              retryInMs: Math.round(delay),
            });
            await pause(delay, ctx.signal);
            if (ctx.signal.aborted) return false;
          }
          pending = again;
        }
        return true;
      };
      try {
        for await (const batch of ctx.inlet('in').batches({ maxSize: ctx.config['batch-size'] })) {
          const messages = (batch as readonly T[]).map((record) => ({ payload: codec.encode(record), ...(options.key ? { id: options.key(record) } : {}) }));
          if (!(await publishAll(messages))) {
            ctx.log.warn('stopped before JetStream acknowledged the last batch; it is not committed', { records: batch.length });
            return;
          }
        }
      } finally {
        publisher.close();
        await connected.nc.close();
      }
    },
  });
}
