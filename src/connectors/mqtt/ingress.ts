/**
 * MQTT ingress: subscribes to topic filters with QoS 1 in a persistent session and emits one
 * record per message. A message is acknowledged (PUBACK) only after the runtime accepted its
 * record, and the broker keeps the session while the application is away, so what was published
 * meanwhile arrives after a restart: at-least-once.
 */
import type avro from 'avsc';
import type { IPublishPacket } from 'mqtt';
import { config } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { untilConnected } from '../connect.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { rejectionReason, decodePayload, rejectionReporter } from '../rejections.js';
import { connectMqtt, mqttConnectionParameters, mqttSettings, type MqttConnection } from './connection.js';
import { parseTopicFilters } from './topics.js';

export interface MqttIngressOptions<T> {
  readonly schema: Schema<T>;
  /** A string field of the schema, with a default, that receives the topic each message came on. */
  readonly topicField?: string;
  readonly description?: string;
}

/** Left unacknowledged on purpose: the broker delivers the message again to the next run. */
const notAcknowledged = new Error('not acknowledged: the streamlet is stopping');

export function mqttIngress<T>(options: MqttIngressOptions<T>) {
  const { schema, topicField } = options;
  if (topicField !== undefined) checkTopicField(schema, topicField);
  return defineStreamlet({
    description: options.description ?? `Reads ${schema.name} records from MQTT topics (QoS 1, persistent session, at-least-once)`,
    outlets: { out: outlet(schema) },
    config: {
      ...mqttConnectionParameters,
      'client-id': config.string({
        description: 'Client id of the persistent session: stable across restarts, unique on the broker',
        pattern: /^\S+$/,
      }),
      topics: config.string({ description: 'Topic filters to subscribe to, comma-separated (+ and # wildcards allowed)' }),
      format: formatParameter,
      'max-message-size': config.memorySize({ description: 'Larger messages are rejected', default: 1024 * 1024, min: 1 }),
      'max-in-flight': config.integer({
        description: 'Most messages the broker sends before they are acknowledged (MQTT 5 receive maximum); also bounds redelivery after a dropped connection',
        default: 100,
        min: 1,
        max: 65_535,
      }),
      'session-expiry': config.duration({
        description: 'How long the broker keeps the session, and queues messages for it, while the application is away (MQTT 5)',
        default: 7 * 24 * 3600 * 1000,
        min: 1000,
        max: 0xffff_ffff * 1000,
      }),
    },
    async run(ctx) {
      const settings = mqttSettings(ctx.config);
      const filters = parseTopicFilters(ctx.config.topics, 'topics');
      const codec = payloadCodec(schema, ctx.config.format);
      const limit = ctx.config['max-message-size'];
      const rejections = rejectionReporter(ctx);
      const broker = `MQTT broker ${settings.broker}`;

      const accept = async (packet: IPublishPacket): Promise<void> => {
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        let value: T;
        try {
          value = decodePayload(codec, payload, limit, `MQTT topic ${packet.topic}`);
        } catch (err) {
          rejections.reject(rejectionReason(err), err, { topic: packet.topic });
          return;
        }
        // A freshly decoded record, owned here: the topic goes straight into it.
        if (topicField !== undefined) (value as Record<string, unknown>)[topicField] = packet.topic;
        await ctx.emit('out', value);
      };

      let inFlight: Promise<void> = Promise.resolve();
      const session = {
        clientId: ctx.config['client-id'],
        clean: false,
        sessionExpirySeconds: Math.round(ctx.config['session-expiry'] / 1000),
        receiveMaximum: ctx.config['max-in-flight'],
      };
      const open = async (): Promise<MqttConnection> => {
        let current: MqttConnection | undefined;
        // mqtt.js hands over one message at a time and sends its PUBACK when `done()` is called.
        const onMessage = (packet: IPublishPacket, done: (error?: Error) => void): void => {
          // What is still buffered from a lost connection comes again on the next one: emitting it now would only duplicate it.
          if (ctx.signal.aborted || current?.isLost) return done(notAcknowledged);
          inFlight = accept(packet).then(
            () => done(),
            (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
          );
        };
        current = await connectMqtt(settings, { ...session, onMessage });
        return current;
      };

      const stopped = new Promise<undefined>((resolve) => {
        if (ctx.signal.aborted) resolve(undefined);
        else ctx.signal.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      while (!ctx.signal.aborted) {
        const connection = await untilConnected(open, { what: broker, log: ctx.log, signal: ctx.signal });
        if (!connection) break;
        if (!(await subscribe(connection, filters, broker))) {
          ctx.log.warn(`lost the connection to ${broker} while subscribing; reconnecting`);
          connection.destroy();
          continue;
        }
        ctx.log.info(`subscribed to ${filters.join(', ')} on ${broker}`, { clientId: session.clientId });
        const lost = await Promise.race([connection.lost, stopped]);
        if (lost === undefined) {
          // The message being emitted is acknowledged once accepted; later ones stay with the broker.
          await inFlight;
          await connection.close();
          break;
        }
        ctx.log.warn(`lost the connection to ${broker}; reconnecting`, { error: lost.message });
        connection.destroy();
      }
    },
  });
}

/** True once subscribed; false when the connection dropped meanwhile; throws when the broker refused a filter. */
async function subscribe(connection: MqttConnection, filters: readonly string[], broker: string): Promise<boolean> {
  try {
    await connection.client.subscribeAsync([...filters], { qos: 1 });
    return true;
  } catch (err) {
    if (connection.isLost) return false;
    connection.destroy();
    throw new SluiceError(
      'SLUICE_ERR_CONFIG_INVALID',
      { where: 'topics', message: `${broker} refused the subscription to ${filters.join(', ')}: ${(err as Error).message}` },
      { cause: err },
    );
  }
}

function checkTopicField(schema: Schema<unknown>, name: string): void {
  const fields = schema.type.typeName === 'record' ? (schema.type as avro.types.RecordType).fields : [];
  const field = fields.find((f) => f.name === name);
  const problem = !field
    ? `names no field of ${schema.name} (fields: ${fields.map((f) => f.name).join(', ')})`
    : field.type.typeName !== 'string'
      ? `is a ${field.type.typeName} field; it must be a string`
      : field.defaultValue() === undefined
        ? 'has no default; give it one (e.g. "") so messages need not carry it'
        : undefined;
  if (problem) throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `mqttIngress topicField ${JSON.stringify(name)} ${problem}` });
}
