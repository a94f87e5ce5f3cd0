/**
 * MQTT egress: publishes each record with QoS 1 to a topic from config (a template such as
 * `alerts/{machine}`) or from a function of the record, and commits a batch only after the broker
 * acknowledged (PUBACK) every message of it. A broker that is down or drops the connection is
 * retried with backoff, resending only what it had not acknowledged: at-least-once.
 */
import { randomBytes } from 'node:crypto';
import { ErrorWithReasonCode } from 'mqtt';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet } from '../../core/streamlet.js';
import { Backoff, pause } from '../../util/backoff.js';
import { defaultConnectBackoff, untilConnected } from '../connect.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { rejectionReporter } from '../rejections.js';
import { connectMqtt, mqttConnectionParameters, mqttSettings, type MqttConnection } from './connection.js';
import { recordTemplate } from '../record-template.js';
import { topicNameProblem } from './topics.js';

export interface MqttEgressOptions<T> {
  readonly schema: Schema<T>;
  /** The topic of each record; when given, the `topic` config parameter is not used. */
  readonly topic?: (record: T) => string;
  readonly description?: string;
}

interface Outgoing {
  readonly topic: string;
  readonly payload: Buffer;
}

export function mqttEgress<T>(options: MqttEgressOptions<T>) {
  const { schema } = options;
  return defineStreamlet({
    description: options.description ?? `Publishes ${schema.name} records to MQTT with QoS 1 (at-least-once)`,
    inlets: { in: schema },
    config: {
      ...mqttConnectionParameters,
      'client-id': config.string({ description: 'Client id; empty picks a unique one per start', default: '' }),
      topic: config.string({
        description: 'Topic to publish to; {field} inserts a field of the record (e.g. alerts/{machine}). Not used when the streamlet computes topics',
        default: '',
      }),
      retain: config.boolean({ description: 'Publish with the retain flag, so new subscribers get the last record of each topic', default: false }),
      format: formatParameter,
      'batch-size': config.integer({
        description: 'Most records published before waiting for the broker to acknowledge them; a batch is committed as a whole',
        default: 1000,
        min: 1,
        max: 65_535,
      }),
    },
    async run(ctx) {
      const settings = mqttSettings(ctx.config);
      const topicOf = options.topic ?? configuredTopic(ctx.config.topic, schema);
      const codec = payloadCodec(schema, ctx.config.format);
      const retain = ctx.config.retain;
      const rejections = rejectionReporter(ctx);
      const broker = `MQTT broker ${settings.broker}`;
      const session = { clientId: ctx.config['client-id'] || `sluice-${ctx.name}-${randomBytes(4).toString('hex')}`, clean: true };

      let connection: MqttConnection | undefined;
      const connected = async (): Promise<MqttConnection | undefined> => {
        if (connection && !connection.isLost) return connection;
        connection = await untilConnected(() => connectMqtt(settings, session), { what: broker, log: ctx.log, signal: ctx.signal });
        const current = connection;
        void current?.lost.then((error) => {
          ctx.log.warn(`lost the connection to ${broker}; unacknowledged messages will be sent again`, { error: error.message });
          // Ending the client fails its pending publishes at once, so they can be retried.
          current.destroy();
        });
        return current;
      };

      /** The record's message, or undefined after reporting why it cannot be sent. */
      const prepare = (record: T): Outgoing | undefined => {
        let topic: string;
        try {
          topic = topicOf(record);
        } catch (err) {
          rejections.reject('invalid', new Error(`cannot compute the topic of a record: ${messageOf(err)}`));
          return undefined;
        }
        const problem = topicNameProblem(topic);
        if (problem) {
          rejections.reject('invalid', new Error(`cannot publish a record: ${problem}`), { topic });
          return undefined;
        }
        return { topic, payload: codec.encode(record) };
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
            pending = await publishAll(current, pending, retain, (message, error) =>
              rejections.reject(isTooLarge(error) ? 'too_large' : 'refused', error, { topic: message.topic }),
            );
            if (pending.length === 0) retryDelay.reset();
            else await pause(retryDelay.next(), ctx.signal);
          }
        }
      } finally {
        await connection?.close();
      }
    },
  });
}

/**
 * Publishes every message and waits for all PUBACKs; returns the messages to send again (the
 * connection failed before the broker acknowledged them). Messages the broker refused with a
 * reason code (MQTT 5) go to `refused` and are not retried.
 */
async function publishAll(
  connection: MqttConnection,
  messages: readonly Outgoing[],
  retain: boolean,
  refused: (message: Outgoing, error: Error) => void,
): Promise<Outgoing[]> {
  const limit = connection.maximumPacketSize;
  const results = await Promise.allSettled(
    messages.map((message) => {
      // A PUBLISH over the broker's limit would get the connection closed: refuse it here instead.
      const size = message.payload.length + Buffer.byteLength(message.topic) + 16;
      if (limit !== undefined && size > limit) {
        return Promise.reject(new SluiceError('SLUICE_ERR_RECORD_TOO_LARGE', { where: `MQTT topic ${message.topic}`, size, limit }));
      }
      return connection.client.publishAsync(message.topic, message.payload, { qos: 1, retain });
    }),
  );
  const again: Outgoing[] = [];
  for (const [i, result] of results.entries()) {
    if (result.status === 'fulfilled') continue;
    const message = messages[i] as Outgoing;
    const error = result.reason instanceof Error ? result.reason : new Error(String(result.reason));
    if (isRefusal(error)) refused(message, error);
    else again.push(message);
  }
  return again;
}

/** The broker answered with a failure reason code, or the message is over its limit: sending it again will not help. */
function isRefusal(error: Error): boolean {
  return (error instanceof ErrorWithReasonCode && error.code >= 0x80) || isTooLarge(error);
}

function isTooLarge(error: Error): boolean {
  return error instanceof SluiceError && error.code === 'SLUICE_ERR_RECORD_TOO_LARGE';
}

function configuredTopic<T>(template: string, schema: Schema<T>): (record: T) => string {
  if (template === '') {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: 'topic', message: 'is required: the topic to publish to, e.g. alerts/{machine}' });
  }
  return recordTemplate(template, schema, 'topic');
}
