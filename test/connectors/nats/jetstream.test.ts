import { randomBytes } from 'node:crypto';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetStreamEgress } from '../../../src/connectors/nats/jetstream-egress.js';
import { jetStreamIngress } from '../../../src/connectors/nats/jetstream-ingress.js';
import { createLogger } from '../../../src/core/log.js';
import { defineSchema, type Schema } from '../../../src/core/schema.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';

const Reading = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'plant',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'machine', type: 'string' },
    { name: 'value', type: 'double' },
  ],
} as const);
type Reading = typeof Reading extends Schema<infer T> ? T : never;

const suffix = randomBytes(4).toString('hex').toUpperCase();
const streams: string[] = [];
let nc: NatsConnection;
let jsm: JetStreamManager;

/** A new stream taking `sluice.js.<name>.<suffix>`; removed after the tests. */
async function newStream(name: string, options: { maxMessageSize?: number } = {}): Promise<{ stream: string; subject: string }> {
  const stream = `SLUICE_TEST_${name}_${suffix}`;
  const subject = `sluice.js.${name}.${suffix}`;
  await jsm.streams.add({
    name: stream,
    subjects: [subject],
    duplicate_window: nanos(60_000),
    ...(options.maxMessageSize ? { max_msg_size: options.maxMessageSize } : {}),
  });
  streams.push(stream);
  return { stream, subject };
}

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
  await nc.close();
});

const reading = (id: number): Reading => ({ id, machine: `m-${id % 3}`, value: id / 2 });
const readings = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => reading(from + i));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const ids = (harness: StreamletHarness) => (harness.outputs('out') as Reading[]).map((r) => r.id);
const distinct = (values: readonly number[]) => [...new Set(values)].sort((a, b) => a - b);

async function publish(subject: string, payloads: readonly (string | Uint8Array)[]): Promise<void> {
  const js = jetstream(nc);
  await Promise.all(payloads.map((p) => js.publish(subject, p)));
}

/** The ids of the records stored in the stream, in stream order. */
async function storedIds(stream: string): Promise<number[]> {
  const info = await jsm.streams.info(stream);
  const out: number[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (message) out.push((message.json() as Reading).id);
  }
  return out;
}

function capturedLog() {
  const lines: string[] = [];
  return { log: createLogger({ level: 'info', write: (line) => lines.push(line) }), text: () => lines.join('') };
}

async function eventually(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function failureOf(harness: StreamletHarness): Promise<string> {
  const outcome = await harness.app.finished;
  await harness.stop();
  if (outcome.ok) throw new Error('the streamlet did not fail');
  return outcome.error.message;
}

describe('JetStream ingress', () => {
  it('delivers every message across a restart of its durable consumer, acknowledging what it emitted', async () => {
    const { stream, subject } = await newStream('IN');
    await publish(
      subject,
      readings(0, 1000).map((r) => JSON.stringify(r)),
    );
    const ingress = jetStreamIngress({ schema: Reading });
    const config = { stream, durable: 'scoring', 'batch-size': 100, 'ack-wait': '2s' };
    const first = await startStreamlet(ingress, { config });
    await first.until(() => first.outputs('out').length >= 300);
    await first.stop();
    await publish(
      subject,
      readings(1000, 1200).map((r) => JSON.stringify(r)),
    );
    const second = await startStreamlet(ingress, { config });
    await second.until(() => distinct([...ids(first), ...ids(second)]).length === 1200, 20_000);
    await second.stop();

    const all = [...ids(first), ...ids(second)];
    expect(distinct(all)).toEqual(range(0, 1200));
    // At-least-once: what the first run had pulled but not emitted was given back at stop, and only that may repeat.
    const info = await jsm.consumers.info(stream, 'scoring');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it('gets again, after ack-wait, what a crashed reader of the same durable consumer had taken and not acknowledged', async () => {
    const { stream, subject } = await newStream('CRASH');
    await publish(
      subject,
      readings(0, 50).map((r) => JSON.stringify(r)),
    );
    await jsm.consumers.add(stream, { durable_name: 'scoring', ack_policy: AckPolicy.Explicit, ack_wait: nanos(1_000) });
    const crashed = await jetstream(nc).consumers.get(stream, 'scoring');
    const taken = await crashed.fetch({ max_messages: 20, expires: 2_000 });
    let count = 0;
    for await (const _message of taken) count++;
    expect(count).toBe(20);

    const harness = await startStreamlet(jetStreamIngress({ schema: Reading }), { config: { stream, durable: 'scoring' } });
    await harness.until(() => distinct(ids(harness)).length === 50, 20_000);
    await harness.stop();
    expect(distinct(ids(harness))).toEqual(range(0, 50));
  });

  it('terminates malformed messages with the reason logged and counted, and goes on', async () => {
    const { stream, subject } = await newStream('BAD');
    await publish(subject, [
      JSON.stringify(reading(1)),
      'not json',
      JSON.stringify({ id: 1.5, machine: 'm', value: 1 }),
      JSON.stringify({ machine: 'm', value: 1 }),
      JSON.stringify({ ...reading(5), machine: 'x'.repeat(3000) }),
      JSON.stringify(reading(6)),
    ]);
    const { log, text } = capturedLog();
    const harness = await startStreamlet(jetStreamIngress({ schema: Reading }), { log, name: 'sensors', config: { stream, 'max-record-size': '2KiB' } });
    await harness.until(() => harness.outputs('out').length === 2);
    await harness.until(() => text().split('rejected a message').length - 1 === 4);
    const metrics = (await harness.app.metrics.exposition()).body;
    await eventually(async () => (await jsm.consumers.info(stream, 'sensors')).num_ack_pending === 0);
    await harness.stop();
    expect(ids(harness)).toEqual([1, 6]);
    expect(text()).toContain(`record on sensors (stream ${stream}, sequence 2) cannot be decoded with schema plant.Reading: not JSON`);
    expect(text()).toContain('id: 1.5 is not an integer (long)');
    expect(text()).toContain('id: missing (long, no default)');
    expect(text()).toContain('sequence 5) is 30');
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="invalid"[^}]*\} 2/);
  });

  it('waits for a server that is down at start, and loses nothing when it goes away mid-run', async () => {
    const { stream, subject } = await newStream('RECONNECT');
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 }, { startClosed: true });
    const { log, text } = capturedLog();
    const harness = await startStreamlet(jetStreamIngress({ schema: Reading }), { log, config: { servers: proxy.address, stream, 'ack-wait': '2s' } });
    try {
      await publish(
        subject,
        readings(0, 200).map((r) => JSON.stringify(r)),
      );
      await harness.until(() => text().includes(`cannot connect to NATS ${proxy.address}; retrying`));
      await proxy.reopen();
      await harness.until(() => harness.outputs('out').length === 200, 20_000);
      await proxy.close();
      await publish(
        subject,
        readings(200, 400).map((r) => JSON.stringify(r)),
      );
      await harness.until(() => text().includes('lost the connection to NATS'));
      await proxy.reopen();
      await harness.until(() => distinct(ids(harness)).length === 400, 25_000);
      expect(distinct(ids(harness))).toEqual(range(0, 400));
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('stops with a message naming a wrong configuration', async () => {
    const ingress = jetStreamIngress({ schema: Reading });
    const start = (config: Record<string, unknown>) => startStreamlet(ingress, { name: 'sensors', config });
    const missing = `SLUICE_TEST_MISSING_${suffix}`;
    expect(await failureOf(await start({ stream: missing }))).toBe(
      `streamlet sensors failed: sensors.stream: JetStream stream ${missing} does not exist (set create-stream = true to create it)`,
    );
    expect(await failureOf(await start({ stream: missing, 'create-stream': true }))).toBe(
      `streamlet sensors failed: sensors.subject: creating stream ${missing} needs the subject it takes`,
    );
    const { stream, subject } = await newStream('FILTER');
    await jsm.consumers.add(stream, { durable_name: 'other', ack_policy: AckPolicy.Explicit, filter_subject: subject });
    expect(await failureOf(await start({ stream, durable: 'other' }))).toBe(
      `streamlet sensors failed: sensors.subject: durable consumer other of stream ${stream} exists with filter "${subject}", not ""`,
    );
    await expect(start({ stream: 'has.dot' })).rejects.toThrow('stream "has.dot" does not match');
    await expect(start({ stream, 'deliver-from': 'yesterday' })).rejects.toThrow('deliver-from expected one of all, new, got "yesterday"');
  });

  it('creates the stream when configured to', async () => {
    const stream = `SLUICE_TEST_CREATED_${suffix}`;
    const subject = `sluice.js.created.${suffix}`;
    streams.push(stream);
    const harness = await startStreamlet(jetStreamIngress({ schema: Reading }), { config: { stream, subject, 'create-stream': true } });
    await eventually(async () => (await jsm.streams.info(stream).catch(() => undefined)) !== undefined);
    await eventually(async () => (await jsm.consumers.info(stream, 'streamlet').catch(() => undefined)) !== undefined);
    await publish(subject, [JSON.stringify(reading(7))]);
    await harness.until(() => harness.outputs('out').length === 1);
    await harness.stop();
    expect(ids(harness)).toEqual([7]);
  });
});

describe('JetStream egress', () => {
  it('stores each record once across a restart when a key names it, even when records are delivered again (effectively-once)', async () => {
    const { stream, subject } = await newStream('OUT');
    const egress = jetStreamEgress({ schema: Reading, key: (r) => `reading-${r.id}` });
    const first = await startStreamlet(egress, { config: { subject } });
    await first.send('in', readings(0, 600));
    await first.until(() => first.committed('in') === 600);
    await first.stop();
    // Redelivery after a crash: the last 200 come again, then new ones.
    const second = await startStreamlet(egress, { config: { subject, stream } });
    await second.send('in', readings(400, 1000));
    await second.until(() => second.committed('in') === 600);
    await second.stop();
    expect(await storedIds(stream)).toEqual(range(0, 1000));
  });

  it('without a key, stores a record delivered again twice (at-least-once)', async () => {
    const { stream, subject } = await newStream('NOKEY');
    const harness = await startStreamlet(jetStreamEgress({ schema: Reading }), { config: { subject } });
    await harness.send('in', [reading(1), reading(1)]);
    await harness.until(() => harness.committed('in') === 2);
    await harness.stop();
    expect(await storedIds(stream)).toEqual([1, 1]);
  });

  it('reports a record the stream refuses (over its max_msg_size) and stores the rest', async () => {
    const { stream, subject } = await newStream('SMALL', { maxMessageSize: 200 });
    const { log, text } = capturedLog();
    const harness = await startStreamlet(jetStreamEgress({ schema: Reading }), { log, config: { subject } });
    await harness.send('in', [reading(1), { ...reading(2), machine: 'x'.repeat(300) }, reading(3)]);
    await harness.until(() => harness.committed('in') === 3);
    const metrics = (await harness.app.metrics.exposition()).body;
    await harness.stop();
    expect(await storedIds(stream)).toEqual([1, 3]);
    expect(text()).toContain(`JetStream stream ${stream} (subject ${subject}) refused a record: message size exceeds maximum allowed (code 10054)`);
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="refused"[^}]*\} 1/);
  });

  it('waits for a server that is down at start, and publishes again what had no ack when it went away, without duplicates', async () => {
    const { stream, subject } = await newStream('LOST');
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 }, { startClosed: true });
    const { log, text } = capturedLog();
    const harness = await startStreamlet(jetStreamEgress({ schema: Reading, key: (r) => String(r.id) }), {
      log,
      config: { servers: proxy.address, subject, 'ack-timeout': '1s', 'batch-size': 50 },
    });
    try {
      await harness.send('in', readings(0, 200));
      await harness.until(() => text().includes(`cannot connect to NATS ${proxy.address}; retrying`));
      expect(harness.committed('in')).toBe(0);
      await proxy.reopen();
      await harness.until(() => harness.committed('in') === 200, 20_000);
      await proxy.close();
      await harness.send('in', readings(200, 500));
      await harness.until(() => text().includes('lost the connection to NATS'));
      await proxy.reopen();
      await harness.until(() => harness.committed('in') === 500, 25_000);
      expect(await storedIds(stream)).toEqual(range(0, 500));
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('stops with a message naming a wrong configuration', async () => {
    const egress = jetStreamEgress({ schema: Reading });
    const start = (config: Record<string, unknown>) => startStreamlet(egress, { name: 'alerts-out', config });
    const nowhere = `sluice.js.nowhere.${suffix}`;
    expect(await failureOf(await start({ subject: nowhere }))).toBe(
      `streamlet alerts-out failed: alerts-out.subject: no JetStream stream takes subject ${nowhere} (create one, or set create-stream = true and stream = <name>)`,
    );
    expect(await failureOf(await start({ subject: nowhere, 'create-stream': true }))).toBe(
      `streamlet alerts-out failed: alerts-out.subject: no JetStream stream takes subject ${nowhere} (name it in stream to have it created)`,
    );
    const { stream, subject } = await newStream('TAKEN');
    expect(await failureOf(await start({ subject, stream: 'ANOTHER' }))).toBe(
      `streamlet alerts-out failed: alerts-out.stream: subject ${subject} goes to stream ${stream}, not ANOTHER`,
    );
    await expect(start({ subject: 'alerts.*' })).rejects.toThrow('subject "alerts.*" does not match');
  });
});
