/**
 * JetStream ingress: reads a stream through a durable pull consumer and emits one record per
 * message, acknowledging each only after the runtime accepted its record: at-least-once. A
 * message not acknowledged (the streamlet stopped or crashed, the connection dropped) is
 * delivered again, at once when the streamlet stopped cleanly (it gives back what it had not
 * emitted), otherwise after `ack-wait`. A malformed message is logged, counted and terminated
 * (`term`): JetStream will not deliver it again.
 */
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { deadline, type NatsConnection } from '@nats-io/transport-node';
import { config } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { rejectionReason, decodePayload, rejectionReporter } from '../rejections.js';
import { connectNats, natsConnectionConfig, natsEndpoint } from './connection.js';
import { BoundedQueue } from './queue.js';
import { manager, openConsumer, openStream } from './streams.js';
import { subjectPattern } from './subjects.js';

export interface JetStreamIngressOptions<T> {
  readonly schema: Schema<T>;
}

export function jetStreamIngress<T>(options: JetStreamIngressOptions<T>) {
  return defineStreamlet({
    description: `Reads ${options.schema.name} records from a JetStream stream with a durable consumer (at-least-once)`,
    outlets: { out: outlet(options.schema) },
    config: {
      ...natsConnectionConfig,
      stream: config.string({ description: 'JetStream stream to read', pattern: /^[^\s.*>]+$/ }),
      durable: config.string({
        description: "Durable consumer name, shared by the replicas; empty: the streamlet's name",
        default: '',
        pattern: /^[^\s.*>]*$/,
      }),
      subject: config.string({
        description: 'Only messages on this subject (and the subject of a stream Sluice creates); empty: all',
        default: '',
        pattern: new RegExp(`^$|${subjectPattern.source}`),
      }),
      'create-stream': config.boolean({ description: 'Create the stream (taking subject) when it does not exist', default: false }),
      'deliver-from': config.oneOf({
        description: 'Where a new durable consumer starts: all of the stream, or new messages',
        values: ['all', 'new'],
        default: 'all',
      }),
      'ack-wait': config.duration({
        description: 'How long a delivered message may stay unacknowledged before it is delivered again',
        default: 30_000,
        min: 1,
      }),
      'max-ack-pending': config.integer({ description: 'Most messages delivered and not yet acknowledged', default: 10_000, min: 1 }),
      format: formatParameter,
      'batch-size': config.integer({ description: 'Most messages pulled and emitted at once', default: 500, min: 1 }),
      'max-record-size': config.memorySize({ description: 'Largest record accepted; larger messages are rejected', default: 1024 * 1024, min: 1 }),
    },
    async run(ctx) {
      const c = ctx.config;
      const durable = c.durable || ctx.name;
      const setup = async (nc: NatsConnection) => {
        const jsm = await manager(nc, ctx.name);
        if (jsm instanceof SluiceError) return jsm;
        const stream = await openStream(jsm, {
          stream: c.stream,
          subject: c.subject,
          create: c['create-stream'],
          duplicateWindow: 120_000,
          streamlet: ctx.name,
        });
        if (stream instanceof SluiceError) return stream;
        const consumerSettings = { durable, filter: c.subject, deliverFrom: c['deliver-from'], ackWait: c['ack-wait'], maxAckPending: c['max-ack-pending'] };
        const problem = await openConsumer(jsm, stream, ctx.name, consumerSettings);
        if (problem) return problem;
        return jetstream(nc).consumers.get(stream, durable);
      };
      const connected = await connectNats(natsEndpoint(ctx.name, c), ctx.log, ctx.signal, setup);
      if (!connected) return;
      const codec = payloadCodec(options.schema, c.format);
      const rejections = rejectionReporter(ctx);
      const queue = new BoundedQueue<JsMsg>(c['batch-size']);
      // The consumer pulls more only as this loop takes messages: a slow pipeline slows the pull, not memory.
      const messages = await connected.setup.consume({ max_messages: c['batch-size'] });
      void logNotifications(messages.status(), ctx.log, `${c.stream}/${durable}`);
      // If pulling fails for good, the loop ends and the streamlet fails with why (the host restarts it).
      const pullFailed = new AbortController();
      const pump = (async () => {
        for await (const message of messages) {
          if (!(await queue.put(message, ctx.signal))) message.nak();
        }
      })().catch((err: unknown) => pullFailed.abort(err));
      const stopped = AbortSignal.any([ctx.signal, pullFailed.signal]);
      try {
        while (!stopped.aborted) {
          const batch = await queue.take(c['batch-size'], stopped);
          const records: T[] = [];
          const accepted: JsMsg[] = [];
          for (const message of batch) {
            const where = `${ctx.name} (stream ${c.stream}, sequence ${message.seq})`;
            try {
              records.push(decodePayload(codec, message.data, c['max-record-size'], where));
              accepted.push(message);
            } catch (err) {
              rejections.reject(rejectionReason(err), err, { subject: message.subject, sequence: message.seq });
              message.term();
            }
          }
          await ctx.emitAll('out', records);
          for (const message of accepted) message.ack();
        }
        if (pullFailed.signal.aborted) throw pullFailed.signal.reason;
      } finally {
        await messages.close();
        await pump;
        // Given back, so they are delivered again now rather than after ack-wait.
        for (const message of queue.drain()) message.nak();
        // Acks and naks are sent when flushed; a server that is gone just redelivers after ack-wait.
        await deadline(connected.nc.flush(), 2_000).catch(() => undefined);
        await connected.nc.close();
      }
    },
  });
}

async function logNotifications(notifications: AsyncIterable<{ readonly type: string }>, log: Logger, consumer: string): Promise<void> {
  for await (const notification of notifications) {
    if (notification.type === 'consumer_not_found' || notification.type === 'stream_not_found' || notification.type === 'consumer_deleted') {
      log.warn(`JetStream consumer ${consumer} is gone (${notification.type}); waiting for it`, {});
    } else if (notification.type === 'heartbeats_missed') {
      log.warn(`JetStream consumer ${consumer} missed heartbeats; pulling again`, {});
    }
  }
}
