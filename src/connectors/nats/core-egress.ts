/**
 * Core NATS egress: publishes one message per record of its inlet to a subject and commits a
 * batch once the server confirmed it has received it (a flush round trip). Core NATS keeps
 * nothing for subscribers that are not there, and a message in flight when a connection drops
 * can be lost: delivery is at-most-once. Use the JetStream egress when records must not be lost.
 */
import { deadline } from '@nats-io/transport-node';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet } from '../../core/streamlet.js';
import { Backoff, pause } from '../../util/backoff.js';
import { defaultConnectBackoff } from '../connect.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { rejectionReporter } from '../rejections.js';
import { connectNats, natsConnectionConfig, natsEndpoint } from './connection.js';
import { publishSubjectPattern } from './subjects.js';

export interface NatsEgressOptions<T> {
  readonly schema: Schema<T>;
}

export function natsEgress<T>(options: NatsEgressOptions<T>) {
  return defineStreamlet({
    description: `Publishes ${options.schema.name} records to a core NATS subject (at-most-once)`,
    inlets: { in: options.schema },
    config: {
      ...natsConnectionConfig,
      subject: config.string({ description: 'Subject to publish to', pattern: publishSubjectPattern }),
      format: formatParameter,
      'batch-size': config.integer({ description: 'Most records published before waiting for the server', default: 1000, min: 1 }),
      'flush-timeout': config.duration({ description: 'How long to wait for the server to confirm a batch before asking again', default: 5_000, min: 1 }),
    },
    async run(ctx) {
      const { subject } = ctx.config;
      const codec = payloadCodec(options.schema, ctx.config.format);
      const rejections = rejectionReporter(ctx);
      const connected = await connectNats(natsEndpoint(ctx.name, ctx.config), ctx.log, ctx.signal, async () => undefined);
      if (!connected) return;
      const { nc } = connected;
      /** True once the server has everything published so far; false when the streamlet stopped first. */
      const flushed = async (): Promise<boolean> => {
        const backoff = new Backoff(defaultConnectBackoff);
        for (;;) {
          try {
            await deadline(nc.flush(), ctx.config['flush-timeout']);
            return true;
          } catch (err) {
            if (ctx.signal.aborted) return false;
            const delay = backoff.next();
            ctx.log.warn(`NATS ${subject}: the server has not confirmed the last batch; asking again`, { error: messageOf(err), retryInMs: Math.round(delay) });
            await pause(delay, ctx.signal);
          }
        }
      };
      try {
        for await (const batch of ctx.inlet('in').batches({ maxSize: ctx.config['batch-size'] })) {
          for (const record of batch) {
            try {
              nc.publish(subject, codec.encode(record as T));
            } catch (err) {
              // The client refuses what the server would (a message over its max_payload).
              const refused = new SluiceError('SLUICE_ERR_RECORD_REFUSED', { target: `NATS subject ${subject}`, message: messageOf(err) }, { cause: err });
              rejections.reject('refused', refused, { subject });
            }
          }
          if (!(await flushed())) {
            ctx.log.warn('stopped before NATS confirmed the last batch; it is not committed', { records: batch.length });
            return;
          }
        }
      } finally {
        await nc.close();
      }
    },
  });
}
