/** A plain amqplib client on the real broker, to prepare queues, publish test input and read test output. */
import { connect, type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';

export const AMQP = 'amqp://127.0.0.1:5672';

export interface RawAmqp {
  readonly model: ChannelModel;
  readonly channel: ConfirmChannel;
  /** Publishes to `queue` through the default exchange and waits for the confirms. */
  send(queue: string, payloads: readonly (string | Buffer)[]): Promise<void>;
  /** Takes every message waiting in `queue`. */
  take(queue: string): Promise<GetMessage[]>;
  /** Deletes what the test declared. */
  cleanUp(names: { queues?: readonly string[]; exchanges?: readonly string[] }): Promise<void>;
  close(): Promise<void>;
}

export async function rawAmqp(): Promise<RawAmqp> {
  const model = await connect(AMQP);
  const channel = await model.createConfirmChannel();
  return {
    model,
    channel,
    async send(queue, payloads) {
      for (const payload of payloads) channel.sendToQueue(queue, Buffer.from(payload), { persistent: true });
      await channel.waitForConfirms();
    },
    async take(queue) {
      const messages: GetMessage[] = [];
      for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) messages.push(message);
      return messages;
    },
    async cleanUp({ queues = [], exchanges = [] }) {
      for (const queue of queues) await channel.deleteQueue(queue);
      for (const exchange of exchanges) await channel.deleteExchange(exchange);
    },
    close: () => model.close(),
  };
}
