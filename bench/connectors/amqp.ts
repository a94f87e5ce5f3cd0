/**
 * AMQP 0-9-1 throughput (RabbitMQ), each beside amqplib doing the same transfer with the same
 * guarantee in the same run, on durable queues with persistent messages:
 * - egress (testkit → inlet → publish on a confirm channel → every confirm of the batch →
 *   commit) against JSON.stringify + sendToQueue + waitForConfirms per batch;
 * - ingress (consume with prefetch → decode → emit → ack) against a consumer with the same
 *   prefetch that parses each message and acknowledges, both draining a queue filled beforehand.
 */
import { randomBytes } from 'node:crypto';
import { connect, type ConfirmChannel } from 'amqplib';
import { amqpEgress } from '../../src/connectors/amqp/egress.js';
import { amqpIngress } from '../../src/connectors/amqp/ingress.js';
import { defineSchema, type Schema } from '../../src/core/schema.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import type { ConnectorBenchmark } from './measurement.js';
import { timed } from './postgres.js';

const Reading = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'bench',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'machine', type: 'string' },
    { name: 'values', type: { type: 'array', items: 'double' } },
  ],
} as const);
type Reading = typeof Reading extends Schema<infer T> ? T : never;

const URL = process.env.SLUICE_BENCH_AMQP_URL ?? 'amqp://127.0.0.1:5672';
const BATCH = 1000;
const PREFETCH = 500;

const readings = (n: number): Reading[] =>
  Array.from({ length: n }, (_, id) => ({ id, machine: `machine-${id % 100}`, values: [id / 3, id / 7, id / 11, 0.5] }));

/** Persistent messages to `queue`, a batch of confirms awaited at a time. */
async function sendBatches(channel: ConfirmChannel, queue: string, payloads: readonly Buffer[]): Promise<void> {
  for (let i = 0; i < payloads.length; i += BATCH) {
    for (const payload of payloads.slice(i, i + BATCH)) channel.sendToQueue(queue, payload, { persistent: true });
    await channel.waitForConfirms();
  }
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

export const amqpBenchmark: ConnectorBenchmark = async ({ records }) => {
  const values = readings(records);
  const suffix = randomBytes(4).toString('hex');
  const queues = { raw: `sluice-bench-raw-${suffix}`, egress: `sluice-bench-egress-${suffix}`, ingress: `sluice-bench-ingress-${suffix}` };
  const model = await connect(URL);
  const channel = await model.createConfirmChannel();
  try {
    for (const queue of Object.values(queues)) await channel.assertQueue(queue, { durable: true });

    const rawEgress = await timed(() =>
      sendBatches(
        channel,
        queues.raw,
        values.map((v) => Buffer.from(JSON.stringify(v))),
      ),
    );
    const egress = await startStreamlet(amqpEgress({ schema: Reading }), {
      config: { url: URL, 'routing-key': queues.egress, 'batch-size': BATCH },
      topicCapacity: 4 * BATCH,
    });
    const connectorEgress = await timed(async () => {
      await egress.send('in', values);
      await egress.until(() => egress.committed('in') === records, 120_000);
    });
    await egress.stop();
    for (const queue of [queues.raw, queues.egress]) {
      const { messageCount } = await channel.checkQueue(queue);
      if (messageCount !== records) throw new Error(`${queue} holds ${messageCount} messages, expected ${records}`);
    }

    // Raw consumer on the queue the raw publisher filled, the connector on the one it filled itself.
    const consumer = await model.createChannel();
    await consumer.prefetch(PREFETCH);
    let received = 0;
    const rawIngress = await timed(async () => {
      await consumer.consume(queues.raw, (message) => {
        if (!message) return;
        JSON.parse(message.content.toString());
        received += 1;
        consumer.ack(message);
      });
      await waitFor(() => received === records);
    });
    await consumer.close();
    const started: StreamletHarness[] = [];
    const connectorIngress = await timed(async () => {
      const ingress = await startStreamlet(amqpIngress({ schema: Reading }), {
        config: { url: URL, queue: queues.egress, prefetch: PREFETCH },
        topicCapacity: 4 * BATCH,
      });
      started.push(ingress);
      await waitFor(() => ingress.outputs('out').length >= records);
    });
    for (const harness of started) await harness.stop();
    return [
      {
        id: 'amqp-egress',
        label: `AMQP egress, JSON, persistent, publisher confirms, batches of ${BATCH}`,
        records,
        connector: records / connectorEgress,
        raw: records / rawEgress,
        rawLabel: `amqplib: JSON.stringify + sendToQueue persistent, waitForConfirms per ${BATCH}`,
      },
      {
        id: 'amqp-ingress',
        label: `AMQP ingress, JSON, manual acks, prefetch ${PREFETCH}`,
        records,
        connector: records / connectorIngress,
        raw: records / rawIngress,
        rawLabel: `amqplib: consume prefetch ${PREFETCH} + JSON.parse + ack each`,
      },
    ];
  } finally {
    for (const queue of Object.values(queues)) await channel.deleteQueue(queue);
    await model.close();
  }
};
