/**
 * Core NATS ingress: subscribes to a subject (optionally in a queue group, so replicas share the
 * messages) and emits one record per message. Core NATS keeps nothing: a message published while
 * the ingress is stopped or disconnected is never seen, and one that arrives while its buffer is
 * full is dropped and counted (`reason="overflow"`). Delivery is at-most-once; use the JetStream
 * ingress when records must not be lost.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { config } from '../../core/config.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { rejectionReason, decodePayload, rejectionReporter } from '../rejections.js';
import { connectNats, natsConnectionConfig, natsEndpoint } from './connection.js';
import { BoundedQueue } from './queue.js';
import { subjectPattern } from './subjects.js';

export interface NatsIngressOptions<T> {
  readonly schema: Schema<T>;
}

export function natsIngress<T>(options: NatsIngressOptions<T>) {
  return defineStreamlet({
    description: `Receives ${options.schema.name} records from a core NATS subject (at-most-once)`,
    outlets: { out: outlet(options.schema) },
    config: {
      ...natsConnectionConfig,
      subject: config.string({ description: 'Subject to subscribe to; wildcards * and > allowed', pattern: subjectPattern }),
      queue: config.string({ description: 'Queue group: replicas in the same group share the messages; empty: every replica gets all', default: '' }),
      format: formatParameter,
      'buffer-size': config.integer({ description: 'Messages held while the pipeline is busy; more are dropped', default: 10_000, min: 1 }),
      'batch-size': config.integer({ description: 'Most records emitted at once', default: 500, min: 1 }),
      'max-record-size': config.memorySize({ description: 'Largest record accepted; larger messages are rejected', default: 1024 * 1024, min: 1 }),
    },
    async run(ctx) {
      const { subject, queue } = ctx.config;
      const codec = payloadCodec(options.schema, ctx.config.format);
      const rejections = rejectionReporter(ctx);
      const buffer = new BoundedQueue<Msg>(ctx.config['buffer-size']);
      const subscribe = async (nc: NatsConnection) => {
        const subscription = nc.subscribe(subject, {
          ...(queue ? { queue } : {}),
          callback: (err, msg) => {
            if (err) ctx.log.warn(`subscription to ${subject} failed`, { error: err.message });
            else if (!buffer.offer(msg))
              rejections.reject('overflow', new Error(`buffer of ${buffer.capacity} messages is full; message dropped`), { subject: msg.subject });
          },
        });
        // The server has the subscription once it answered a ping: nothing published after start is missed.
        await nc.flush();
        return subscription;
      };
      const connected = await connectNats(natsEndpoint(ctx.name, ctx.config), ctx.log, ctx.signal, subscribe);
      if (!connected) return;
      ctx.log.info(`subscribed to NATS subject ${subject}`, queue ? { queue } : {});
      const emit = async (messages: readonly Msg[]) => {
        const records: T[] = [];
        for (const msg of messages) {
          const where = `${ctx.name} (subject ${msg.subject})`;
          try {
            records.push(decodePayload(codec, msg.data, ctx.config['max-record-size'], where));
          } catch (err) {
            rejections.reject(rejectionReason(err), err, { subject: msg.subject });
          }
        }
        await ctx.emitAll('out', records);
      };
      try {
        while (!ctx.signal.aborted) await emit(await buffer.take(ctx.config['batch-size'], ctx.signal));
        // Stopping: take no more, but deliver what was already received.
        connected.setup.unsubscribe();
        await emit(buffer.drain());
      } finally {
        await connected.nc.close();
      }
    },
  });
}
