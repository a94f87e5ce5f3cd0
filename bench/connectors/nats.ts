/**
 * NATS throughput, each beside the nats.js client doing the same transfer with the same
 * guarantee in the same run:
 * - core egress (publish, flush per batch) against JSON.stringify + nc.publish + flush per batch;
 * - core ingress (subscription → decode → emit) against a plain subscription callback, the
 *   publisher kept within the ingress's buffer so nothing is dropped;
 * - JetStream egress with Nats-Msg-Id (every PubAck awaited per batch) against JSON.stringify +
 *   js.publish with msgID, a batch in flight at a time;
 * - JetStream ingress (durable pull consumer, ack after emit) against consume() + ack().
 */
import { randomBytes } from 'node:crypto';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { natsEgress } from '../../src/connectors/nats/core-egress.js';
import { natsIngress } from '../../src/connectors/nats/core-ingress.js';
import { jetStreamEgress } from '../../src/connectors/nats/jetstream-egress.js';
import { jetStreamIngress } from '../../src/connectors/nats/jetstream-ingress.js';
import { createLogger } from '../../src/core/log.js';
import { defineSchema, type Schema } from '../../src/core/schema.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import type { ConnectorBenchmark, ConnectorMeasurement } from './measurement.js';
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

const SERVERS = process.env.SLUICE_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const BATCH = 1000;

const readings = (n: number): Reading[] =>
  Array.from({ length: n }, (_, id) => ({ id, machine: `machine-${id % 100}`, values: [id / 3, id / 7, id / 11, 0.5] }));

export const natsBenchmark: ConnectorBenchmark = async ({ records }) => {
  const values = readings(records);
  const payloads = values.map((v) => Buffer.from(JSON.stringify(v)));
  const suffix = randomBytes(4).toString('hex');
  const nc = await connect({ servers: SERVERS });
  try {
    return [
      await coreEgress(nc, values, `bench.core.egress.${suffix}`),
      await coreIngress(nc, payloads, `bench.core.ingress.${suffix}`),
      ...(await jetStreamRows(nc, values, payloads, suffix)),
    ];
  } finally {
    await nc.close();
  }
};

async function coreEgress(nc: NatsConnection, values: readonly Reading[], subject: string): Promise<ConnectorMeasurement> {
  const raw = await timed(async () => {
    for (let i = 0; i < values.length; i += BATCH) {
      for (const value of values.slice(i, i + BATCH)) nc.publish(subject, JSON.stringify(value));
      await nc.flush();
    }
  });
  const harness = await startStreamlet(natsEgress({ schema: Reading }), {
    config: { servers: SERVERS, subject, 'batch-size': BATCH },
    topicCapacity: 4 * BATCH,
  });
  const connector = await timed(async () => {
    await harness.send('in', values);
    await harness.until(() => harness.committed('in') === values.length, 120_000);
  });
  await harness.stop();
  return row(
    'nats-core-egress',
    `NATS core egress, JSON, flush per ${BATCH}`,
    values.length,
    connector,
    raw,
    `nats.js: JSON.stringify + publish, flush per ${BATCH}`,
  );
}

async function coreIngress(nc: NatsConnection, payloads: readonly Buffer[], subject: string): Promise<ConnectorMeasurement> {
  let received = 0;
  const subscription = nc.subscribe(subject, {
    callback: (_err, msg) => {
      JSON.parse(msg.string());
      received += 1;
    },
  });
  await nc.flush();
  const raw = await timed(async () => {
    for (const payload of payloads) nc.publish(subject, payload);
    await nc.flush();
    while (received < payloads.length) await new Promise((resolve) => setTimeout(resolve, 1));
  });
  subscription.unsubscribe();

  const bufferSize = 10_000;
  const lines: string[] = [];
  const harness = await startStreamlet(natsIngress({ schema: Reading }), {
    config: { servers: SERVERS, subject, 'batch-size': BATCH, 'buffer-size': bufferSize },
    topicCapacity: 4 * BATCH,
    log: createLogger({ level: 'info', write: (line) => lines.push(line) }),
  });
  await harness.until(() => lines.join('').includes('subscribed to NATS subject'));
  const emitted = () => harness.outputs('out').length;
  const connector = await timed(async () => {
    // Core NATS drops what a full buffer cannot take: publish no further ahead than the buffer holds.
    for (let sent = 0; sent < payloads.length;) {
      if (sent - emitted() >= bufferSize / 2) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      for (const payload of payloads.slice(sent, sent + BATCH)) nc.publish(subject, payload);
      sent += Math.min(BATCH, payloads.length - sent);
      await nc.flush();
    }
    await harness.until(() => emitted() === payloads.length, 120_000);
  });
  await harness.stop();
  return row('nats-core-ingress', 'NATS core ingress, JSON', payloads.length, connector, raw, 'nats.js: subscription callback, JSON.parse');
}

async function jetStreamRows(nc: NatsConnection, values: readonly Reading[], payloads: readonly Buffer[], suffix: string): Promise<ConnectorMeasurement[]> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const streams = { raw: `BENCH_RAW_${suffix}`, connector: `BENCH_EGRESS_${suffix}` };
  const subjects = { raw: `bench.js.raw.${suffix}`, connector: `bench.js.egress.${suffix}` };
  for (const key of ['raw', 'connector'] as const) await jsm.streams.add({ name: streams[key], subjects: [subjects[key]], duplicate_window: nanos(120_000) });
  try {
    const rawPublish = await timed(async () => {
      for (let i = 0; i < payloads.length; i += BATCH) {
        await Promise.all(values.slice(i, i + BATCH).map((value) => js.publish(subjects.raw, JSON.stringify(value), { msgID: `reading-${value.id}` })));
      }
    });
    const egress = await startStreamlet(jetStreamEgress({ schema: Reading, key: (r) => `reading-${r.id}` }), {
      config: { servers: SERVERS, subject: subjects.connector, 'batch-size': BATCH },
      topicCapacity: 4 * BATCH,
    });
    const connectorPublish = await timed(async () => {
      await egress.send('in', values);
      await egress.until(() => egress.committed('in') === values.length, 120_000);
    });
    await egress.stop();

    // Both read the stream the raw client wrote, each with its own durable consumer.
    await jsm.consumers.add(streams.raw, { durable_name: 'raw', ack_policy: AckPolicy.Explicit, max_ack_pending: 20_000 });
    const rawConsume = await timed(async () => {
      const messages = await (await js.consumers.get(streams.raw, 'raw')).consume({ max_messages: BATCH });
      let read = 0;
      for await (const message of messages) {
        JSON.parse(message.string());
        message.ack();
        if (++read === payloads.length) break;
      }
      await messages.close();
    });
    let ingress: StreamletHarness | undefined;
    const connectorConsume = await timed(async () => {
      const harness = await startStreamlet(jetStreamIngress({ schema: Reading }), {
        config: { servers: SERVERS, stream: streams.raw, durable: 'connector', 'batch-size': BATCH, 'max-ack-pending': 20_000 },
        topicCapacity: 4 * BATCH,
      });
      ingress = harness;
      await harness.until(() => harness.outputs('out').length === payloads.length, 120_000);
    });
    await ingress?.stop();
    for (const key of ['raw', 'connector'] as const) {
      const stored = (await jsm.streams.info(streams[key])).state.messages;
      if (stored !== payloads.length) throw new Error(`stream ${streams[key]} holds ${stored} messages, expected ${payloads.length}`);
    }
    return [
      row(
        'nats-jetstream-egress',
        `JetStream egress, JSON, Nats-Msg-Id, acks awaited per ${BATCH}`,
        payloads.length,
        connectorPublish,
        rawPublish,
        `nats.js: JSON.stringify + js.publish with msgID, ${BATCH} in flight`,
      ),
      row(
        'nats-jetstream-ingress',
        'JetStream ingress, JSON, durable pull consumer, ack after emit',
        payloads.length,
        connectorConsume,
        rawConsume,
        `nats.js: consume({max_messages: ${BATCH}}) + ack()`,
      ),
    ];
  } finally {
    for (const stream of Object.values(streams)) await jsm.streams.delete(stream).catch(() => undefined);
  }
}

function row(id: string, label: string, records: number, connectorSeconds: number, rawSeconds: number, rawLabel: string): ConnectorMeasurement {
  return { id, label, records, connector: records / connectorSeconds, raw: records / rawSeconds, rawLabel };
}
