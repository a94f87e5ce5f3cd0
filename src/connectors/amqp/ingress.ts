/**
 * AMQP 0-9-1 ingress: consumes a queue with manual acknowledgements and a prefetch window, and
 * emits one record per message. Messages are acknowledged only after the runtime accepted their
 * records; what was delivered but not acknowledged when the connection or the application goes
 * away is requeued by the broker and delivered again: at-least-once. Malformed messages are
 * rejected without requeue, so they reach the queue's dead-letter exchange if it has one.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { config } from '../../core/config.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { Notifier } from '../../util/notifier.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { rejectionReason, decodePayload, rejectionReporter } from '../rejections.js';
import { amqpConnectionParameters, amqpSettings, blockedLogger, isConfigRefusal, topologyError, untilSession, type AmqpSession } from './connection.js';
import { exchangeTypeParameter } from './topology.js';

export interface AmqpIngressOptions<T> {
  readonly schema: Schema<T>;
  readonly description?: string;
}

export function amqpIngress<T>(options: AmqpIngressOptions<T>) {
  const { schema } = options;
  return defineStreamlet({
    description: options.description ?? `Reads ${schema.name} records from an AMQP queue (manual acks, at-least-once)`,
    outlets: { out: outlet(schema) },
    config: {
      ...amqpConnectionParameters,
      queue: config.string({ description: 'Queue to consume', pattern: /^.{1,255}$/ }),
      prefetch: config.integer({ description: 'Most messages delivered and not yet acknowledged', default: 500, min: 1, max: 65_535 }),
      declare: config.boolean({
        description: 'Declare the queue (durable), and the exchange and its bindings when an exchange is given, instead of expecting them to exist',
        default: false,
      }),
      exchange: config.string({ description: 'Exchange to bind the queue to when declare = true; empty for none', default: '' }),
      'exchange-type': exchangeTypeParameter,
      'binding-keys': config.string({
        description: 'Routing keys (patterns for a topic exchange) binding the queue to the exchange, comma-separated',
        default: '#',
      }),
      'dead-letter-exchange': config.string({
        description: 'Exchange that receives rejected (malformed) messages; set on the queue when declare = true',
        default: '',
      }),
      format: formatParameter,
      'max-message-size': config.memorySize({ description: 'Larger messages are rejected', default: 1024 * 1024, min: 1 }),
    },
    async run(ctx) {
      const settings = amqpSettings(ctx.config);
      const { queue, declare, exchange } = ctx.config;
      const bindingKeys = ctx.config['binding-keys'].split(',').map((key) => key.trim());
      const codec = payloadCodec(schema, ctx.config.format);
      const limit = ctx.config['max-message-size'];
      const rejections = rejectionReporter(ctx);
      const broker = `AMQP broker ${settings.broker}`;

      /** Puts the queue (and what feeds it, when declaring) in place. */
      const prepare = async (channel: Channel): Promise<void> => {
        try {
          if (declare) {
            const deadLetterExchange = ctx.config['dead-letter-exchange'];
            await channel.assertQueue(queue, { durable: true, ...(deadLetterExchange ? { deadLetterExchange } : {}) });
            if (exchange) {
              await channel.assertExchange(exchange, ctx.config['exchange-type'], { durable: true });
              for (const key of bindingKeys) await channel.bindQueue(queue, exchange, key);
            }
          } else {
            await channel.checkQueue(queue);
          }
        } catch (err) {
          if (!isConfigRefusal(err)) throw err;
          const what = declare
            ? `cannot declare queue ${queue}${exchange ? ` bound to exchange ${exchange}` : ''}`
            : `queue ${queue} does not exist (set declare = true to create it)`;
          throw topologyError(err, declare ? 'declare' : 'queue', what, broker);
        }
        await channel.prefetch(ctx.config.prefetch);
      };
      const channelOf = { create: (model: ChannelModel) => model.createChannel(), prepare, onBlocked: blockedLogger(ctx.log, broker) };

      const consume = async (session: AmqpSession<Channel>): Promise<void> => {
        const { channel } = session;
        const delivered: ConsumeMessage[] = [];
        const arrived = new Notifier();
        let cancelled = false;
        void session.lost.then(() => arrived.notifyAll());
        let consumerTag: string;
        try {
          ({ consumerTag } = await channel.consume(
            queue,
            (message) => {
              if (message) delivered.push(message);
              else cancelled = true; // the queue was deleted: reconnecting will say so
              arrived.notifyAll();
            },
            { noAck: false },
          ));
        } catch (err) {
          if (session.isLost) return;
          throw topologyError(err, 'queue', `cannot consume queue ${queue}`, broker);
        }
        ctx.log.info(`consuming queue ${queue} on ${broker}`, { prefetch: ctx.config.prefetch });
        while (!ctx.signal.aborted && !session.isLost && !cancelled) {
          if (delivered.length === 0) {
            await arrived.wait(ctx.signal);
            continue;
          }
          const batch = delivered.splice(0);
          const values: T[] = [];
          let lastAccepted: ConsumeMessage | undefined;
          for (const message of batch) {
            const value = decode(message);
            if (value === undefined) {
              settle(session, () => channel.nack(message, false, false));
            } else {
              values.push(value);
              lastAccepted = message;
            }
          }
          await ctx.emitAll('out', values);
          // One ack covers the batch: every delivery up to this one is now either accepted or already rejected.
          if (lastAccepted) settle(session, () => channel.ack(lastAccepted, true));
        }
        if (cancelled) ctx.log.warn(`the broker cancelled the consumer of queue ${queue}; reconnecting`);
        // Stop new deliveries; those not yet emitted are requeued when the channel closes.
        else if (ctx.signal.aborted && !session.isLost) await channel.cancel(consumerTag).catch(() => undefined);
      };

      const decode = (message: ConsumeMessage): T | undefined => {
        try {
          return decodePayload(codec, message.content, limit, `AMQP queue ${queue}`);
        } catch (err) {
          rejections.reject(rejectionReason(err), err, { queue, routingKey: message.fields.routingKey, deliveryTag: message.fields.deliveryTag });
          return undefined;
        }
      };

      while (!ctx.signal.aborted) {
        const session = await untilSession(settings, channelOf, { what: broker, log: ctx.log, signal: ctx.signal });
        if (!session) break;
        try {
          await consume(session);
        } finally {
          const lost = session.isLost;
          await session.close();
          if (lost && !ctx.signal.aborted) ctx.log.warn(`lost the connection to ${broker}; reconnecting`, { error: (await session.lost).message });
        }
      }
    },
  });
}

/**
 * Acknowledges or rejects on the session's own channel, if it is still open: a delivery of a
 * closed channel is requeued by the broker and must not be settled anywhere else.
 */
function settle(session: AmqpSession<Channel>, action: () => void): void {
  if (session.isLost) return;
  try {
    action();
  } catch (err) {
    // The channel closed between the check and the call: the broker requeues the delivery.
    if (!(err instanceof Error && err.name === 'IllegalOperationError')) throw err;
  }
}
