/**
 * AMQP 0-9-1 egress: publishes each record as a persistent message to an exchange, with a routing
 * key from config (a template such as `score.{region}`) or from a function of the record, on a
 * channel in confirm mode. A batch is committed only after the broker confirmed every message of
 * it; messages of a lost connection, or that the broker nacked, are published again on a new
 * session: at-least-once (effectively-once for consumers that drop repeated message ids).
 */
import { once } from 'node:events';
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet } from '../../core/streamlet.js';
import { Backoff, pause } from '../../util/backoff.js';
import { defaultConnectBackoff } from '../connect.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { recordTemplate } from '../record-template.js';
import { rejectionReporter } from '../rejections.js';
import { amqpConnectionParameters, amqpSettings, blockedLogger, isConfigRefusal, topologyError, untilSession, type AmqpSession } from './connection.js';
import { exchangeTypeParameter } from './topology.js';

export interface AmqpEgressOptions<T> {
  readonly schema: Schema<T>;
  /** The routing key of each record; when given, the `routing-key` config parameter is not used. */
  readonly routingKey?: (record: T) => string;
  /** A stable id of each record, sent as the message-id property, so consumers can drop a copy published twice. */
  readonly messageId?: (record: T) => string;
  readonly description?: string;
}

interface Outgoing {
  readonly routingKey: string;
  readonly payload: Buffer;
  readonly messageId: string | undefined;
}

/** Longest routing key AMQP 0-9-1 can carry (a short string). */
const MAX_ROUTING_KEY_BYTES = 255;

export function amqpEgress<T>(options: AmqpEgressOptions<T>) {
  const { schema } = options;
  return defineStreamlet({
    description: options.description ?? `Publishes ${schema.name} records to an AMQP exchange with publisher confirms (at-least-once)`,
    inlets: { in: schema },
    config: {
      ...amqpConnectionParameters,
      exchange: config.string({ description: 'Exchange to publish to; empty: the default exchange, where the routing key names the queue', default: '' }),
      'routing-key': config.string({
        description: 'Routing key; {field} inserts a field of the record (e.g. score.{region}). Not used when the streamlet computes routing keys',
        default: '',
      }),
      declare: config.boolean({ description: 'Declare the exchange (durable) instead of expecting it to exist', default: false }),
      'exchange-type': exchangeTypeParameter,
      persistent: config.boolean({ description: 'Mark messages persistent, so a durable queue keeps them across a broker restart', default: true }),
      mandatory: config.boolean({
        description: 'Report and count messages no queue is bound for (returned by the broker) instead of letting the broker drop them silently',
        default: true,
      }),
      format: formatParameter,
      'batch-size': config.integer({
        description: 'Most records published before waiting for the broker to acknowledge them; a batch is committed as a whole',
        default: 1000,
        min: 1,
        max: 65_535,
      }),
      'max-message-size': config.memorySize({ description: 'Records encoding to more bytes are rejected', default: 16 * 1024 * 1024, min: 1 }),
    },
    async run(ctx) {
      const settings = amqpSettings(ctx.config);
      const { exchange, declare, mandatory } = ctx.config;
      const routingKeyOf = options.routingKey ?? configuredRoutingKey(ctx.config['routing-key'], exchange, schema);
      const codec = payloadCodec(schema, ctx.config.format);
      const limit = ctx.config['max-message-size'];
      const rejections = rejectionReporter(ctx);
      const broker = `AMQP broker ${settings.broker}`;
      const properties: Options.Publish = {
        persistent: ctx.config.persistent,
        mandatory,
        contentType: ctx.config.format === 'json' ? 'application/json' : 'avro/binary',
      };

      const prepareExchange = async (channel: ConfirmChannel): Promise<void> => {
        if (!exchange) return;
        try {
          if (declare) await channel.assertExchange(exchange, ctx.config['exchange-type'], { durable: true });
          else await channel.checkExchange(exchange);
        } catch (err) {
          if (!isConfigRefusal(err)) throw err;
          const what = declare ? `cannot declare exchange ${exchange}` : `exchange ${exchange} does not exist (set declare = true to create it)`;
          throw topologyError(err, declare ? 'declare' : 'exchange', what, broker);
        }
      };
      const channelOf = { create: (model: ChannelModel) => model.createConfirmChannel(), prepare: prepareExchange, onBlocked: blockedLogger(ctx.log, broker) };
      let session: Publisher | undefined;
      const connected = async (): Promise<Publisher | undefined> => {
        if (session && !session.isLost) return session;
        const opened = await untilSession(settings, channelOf, { what: broker, log: ctx.log, signal: ctx.signal });
        session = opened && new Publisher(opened, exchange, properties);
        void session?.lost.then((error) => {
          if (!ctx.signal.aborted) ctx.log.warn(`lost the connection to ${broker}; unconfirmed messages will be published again`, { error: error.message });
        });
        return session;
      };

      /** The record's message, or undefined after reporting why it cannot be sent. */
      const prepare = (record: T): Outgoing | undefined => {
        let routingKey: string;
        try {
          routingKey = routingKeyOf(record);
        } catch (err) {
          rejections.reject('invalid', new Error(`cannot compute the routing key of a record: ${messageOf(err)}`));
          return undefined;
        }
        if (Buffer.byteLength(routingKey) > MAX_ROUTING_KEY_BYTES) {
          rejections.reject('invalid', new Error(`routing key of ${Buffer.byteLength(routingKey)} bytes is over the AMQP limit of ${MAX_ROUTING_KEY_BYTES}`), {
            routingKey: `${routingKey.slice(0, 60)}...`,
          });
          return undefined;
        }
        const payload = codec.encode(record);
        if (payload.length > limit) {
          const where = `AMQP exchange ${exchange || '(default)'} routing key ${routingKey}`;
          rejections.reject('too_large', new SluiceError('SLUICE_ERR_RECORD_TOO_LARGE', { where, size: payload.length, limit }), { routingKey });
          return undefined;
        }
        return { routingKey, payload, messageId: options.messageId?.(record) };
      };

      const retryDelay = new Backoff(defaultConnectBackoff);
      try {
        // Connect before the first record, so a wrong address or missing exchange shows at start.
        if (!(await connected())) return;
        for await (const batch of ctx.inlet('in').batches({ maxSize: ctx.config['batch-size'] })) {
          let pending = batch.map(prepare).filter((m): m is Outgoing => m !== undefined);
          while (pending.length > 0) {
            const current = await connected();
            // Stopping while the broker is away: the batch stays uncommitted and is delivered again.
            if (!current) return;
            const { again, unroutable } = await current.publishAll(pending);
            for (const { routingKey } of unroutable) {
              const error = new Error(
                `no queue is bound to exchange ${exchange || '(default)'} for routing key ${routingKey}; the broker returned the message`,
              );
              rejections.reject('refused', error, { routingKey });
            }
            pending = again;
            if (pending.length === 0) retryDelay.reset();
            else await pause(retryDelay.next(), ctx.signal);
          }
        }
      } finally {
        await session?.close();
      }
    },
  });
}

/**
 * A confirm channel publishing batches. The broker confirms messages in order; a message that
 * no queue takes comes back (basic.return) before its confirm, which is how it is told apart.
 */
class Publisher {
  private readonly returned = new Map<string, Buffer[]>();

  constructor(
    private readonly session: AmqpSession<ConfirmChannel>,
    private readonly exchange: string,
    private readonly properties: Options.Publish,
  ) {
    session.channel.on('return', (message: Message) => {
      const key = message.fields.routingKey;
      this.returned.set(key, [...(this.returned.get(key) ?? []), message.content]);
    });
  }

  get isLost(): boolean {
    return this.session.isLost;
  }

  get lost(): Promise<Error> {
    return this.session.lost;
  }

  close(): Promise<void> {
    return this.session.close();
  }

  /** Publishes every message and waits for every confirm: `again` were nacked or lost with the connection. */
  async publishAll(messages: readonly Outgoing[]): Promise<{ again: Outgoing[]; unroutable: Outgoing[] }> {
    const { channel } = this.session;
    const outcomes: Promise<'confirmed' | 'again' | 'unroutable'>[] = [];
    for (const message of messages) {
      if (this.session.isLost) {
        outcomes.push(Promise.resolve('again'));
        continue;
      }
      let hasRoom = true;
      outcomes.push(
        new Promise((resolve) => {
          const confirmed = (err: unknown) => resolve(err ? 'again' : this.takeReturned(message) ? 'unroutable' : 'confirmed');
          try {
            hasRoom = channel.publish(this.exchange, message.routingKey, message.payload, { ...this.properties, messageId: message.messageId }, confirmed);
          } catch {
            // The channel closed under us: publish the message again on the next session.
            resolve('again');
          }
        }),
      );
      // The socket's buffer is full: wait until it drained (or the session is gone) before writing more.
      if (!hasRoom) await Promise.race([once(channel, 'drain'), this.session.lost]);
    }
    const results = await Promise.all(outcomes);
    return {
      again: messages.filter((_, i) => results[i] === 'again'),
      unroutable: messages.filter((_, i) => results[i] === 'unroutable'),
    };
  }

  private takeReturned(message: Outgoing): boolean {
    const key = message.routingKey;
    const returned = this.returned.get(key);
    const index = returned?.findIndex((content) => content.equals(message.payload)) ?? -1;
    if (!returned || index < 0) return false;
    returned.splice(index, 1);
    if (returned.length === 0) this.returned.delete(key);
    return true;
  }
}

function configuredRoutingKey<T>(template: string, exchange: string, schema: Schema<T>): (record: T) => string {
  if (template === '' && exchange === '') {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', {
      where: 'routing-key',
      message: 'is required with the default exchange (exchange = ""): it names the queue to publish to',
    });
  }
  return recordTemplate(template, schema, 'routing-key');
}
