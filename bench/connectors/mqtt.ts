/**
 * MQTT throughput (Mosquitto), each beside mqtt.js doing the same transfer with the same QoS 1
 * guarantee in the same run:
 * - egress (testkit → inlet → publish QoS 1 → every PUBACK of the batch → commit) against
 *   JSON.stringify + publishAsync QoS 1, a batch of PUBACKs awaited at a time;
 * - ingress (persistent session → decode → emit → PUBACK) against a plain mqtt.js subscriber
 *   (PUBACK as soon as each message is handled), both fed by the same publisher running beside
 *   them, timed from the first publish to the last record received.
 */
import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { mqttEgress } from '../../src/connectors/mqtt/egress.js';
import { mqttIngress } from '../../src/connectors/mqtt/ingress.js';
import { createLogger } from '../../src/core/log.js';
import { defineSchema, type Schema } from '../../src/core/schema.js';
import { startStreamlet } from '../../src/testkit.js';
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

const URL = process.env.SLUICE_BENCH_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const BATCH = 1000;

const readings = (n: number): Reading[] =>
  Array.from({ length: n }, (_, id) => ({ id, machine: `machine-${id % 100}`, values: [id / 3, id / 7, id / 11, 0.5] }));

const client = (options: { clientId?: string; clean?: boolean } = {}): Promise<MqttClient> =>
  connectAsync(URL, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    clean: options.clean ?? true,
    ...(options.clientId ? { clientId: options.clientId, properties: { sessionExpiryInterval: 60 } } : {}),
  });

/** Publishes every payload with QoS 1, a batch of PUBACKs awaited at a time. */
async function publishBatches(publisher: MqttClient, topic: string, payloads: readonly (string | Buffer)[]): Promise<void> {
  for (let i = 0; i < payloads.length; i += BATCH) {
    await Promise.all(payloads.slice(i, i + BATCH).map((payload) => publisher.publishAsync(topic, payload, { qos: 1 })));
  }
}

/**
 * Publishes to a subscriber without ever getting more than a window ahead of it: Mosquitto
 * drops messages for a subscriber once `max_queued_messages` (1000 by default) wait for it.
 */
async function feed(publisher: MqttClient, topic: string, payloads: readonly string[], received: () => number): Promise<void> {
  const window = BATCH / 2;
  for (let i = 0; i < payloads.length; i += window) {
    await Promise.all(payloads.slice(i, i + window).map((payload) => publisher.publishAsync(topic, payload, { qos: 1 })));
    await waitFor(() => received() >= i);
  }
  await waitFor(() => received() >= payloads.length);
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

export const mqttBenchmark: ConnectorBenchmark = async ({ records }) => {
  const values = readings(records);
  const payloads = values.map((v) => JSON.stringify(v));
  const base = `sluice-bench/${randomBytes(4).toString('hex')}`;
  const publisher = await client();
  try {
    // Egress: nobody subscribes, so both measure the publish path alone.
    const rawEgress = await timed(() =>
      publishBatches(
        publisher,
        `${base}/raw-egress`,
        values.map((v) => JSON.stringify(v)),
      ),
    );
    const egress = await startStreamlet(mqttEgress({ schema: Reading }), {
      config: { url: URL, topic: `${base}/egress`, 'batch-size': BATCH },
      topicCapacity: 4 * BATCH,
    });
    const connectorEgress = await timed(async () => {
      await egress.send('in', values);
      await egress.until(() => egress.committed('in') === records, 120_000);
    });
    await egress.stop();

    // Ingress: a subscriber on a persistent session, fed while it runs.
    const subscriber = await client({ clientId: `sluice-bench-raw-${randomBytes(4).toString('hex')}`, clean: false });
    let received = 0;
    subscriber.on('message', (_topic, payload) => {
      JSON.parse(payload.toString());
      received += 1;
    });
    await subscriber.subscribeAsync(`${base}/raw-ingress`, { qos: 1 });
    const rawIngress = await timed(() => feed(publisher, `${base}/raw-ingress`, payloads, () => received));
    await subscriber.endAsync();

    // The connector's session exists once it logged that it subscribed; publishing starts then.
    let subscribed!: () => void;
    const ready = new Promise<void>((resolve) => (subscribed = resolve));
    const log = createLogger({ level: 'info', write: (line) => line.includes('"msg":"subscribed to') && subscribed() });
    const ingress = await startStreamlet(mqttIngress({ schema: Reading }), {
      config: { url: URL, 'client-id': `sluice-bench-in-${randomBytes(4).toString('hex')}`, topics: `${base}/ingress`, 'session-expiry': '60s' },
      topicCapacity: 4 * BATCH,
      log,
    });
    await ready;
    const connectorIngress = await timed(() => feed(publisher, `${base}/ingress`, payloads, () => ingress.outputs('out').length));
    await ingress.stop();
    return [
      {
        id: 'mqtt-egress',
        label: `MQTT egress, JSON, QoS 1, batches of ${BATCH}`,
        records,
        connector: records / connectorEgress,
        raw: records / rawEgress,
        rawLabel: `mqtt.js: JSON.stringify + publishAsync QoS 1, ${BATCH} PUBACKs per await`,
      },
      {
        id: 'mqtt-ingress',
        label: 'MQTT ingress, JSON, QoS 1, persistent session, PUBACK after emit',
        records,
        connector: records / connectorIngress,
        raw: records / rawIngress,
        rawLabel: 'mqtt.js: QoS 1 subscriber + JSON.parse, fed by a QoS 1 publisher in the same process',
      },
    ];
  } finally {
    await publisher.endAsync();
  }
};
