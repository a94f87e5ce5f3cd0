import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, createServer } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsEgress } from '../../../src/connectors/nats/core-egress.js';
import { natsIngress } from '../../../src/connectors/nats/core-ingress.js';
import { createLogger } from '../../../src/core/log.js';
import { defineSchema, type Schema } from '../../../src/core/schema.js';
import type { AnyStreamlet } from '../../../src/core/streamlet.js';
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

const suffix = randomBytes(4).toString('hex');
const subjectOf = (name: string) => `sluice.test.${name}.${suffix}`;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
});

afterAll(async () => {
  await nc.close();
});

const reading = (id: number): Reading => ({ id, machine: `m-${id % 3}`, value: id / 2 });
const readings = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => reading(from + i));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const ids = (harness: StreamletHarness) => (harness.outputs('out') as Reading[]).map((r) => r.id);

async function publish(subject: string, payloads: readonly (string | Uint8Array)[]): Promise<void> {
  for (const payload of payloads) nc.publish(subject, payload);
  await nc.flush();
}

/** Starts a core ingress and waits until it is subscribed: core NATS keeps nothing for a subscriber not there yet. */
async function subscribed(definition: AnyStreamlet, options: { config: Record<string, unknown>; name?: string }) {
  const { log, text } = capturedLog();
  const harness = await startStreamlet(definition, { ...options, log });
  await harness.until(() => text().includes('subscribed to NATS subject'));
  return { harness, text };
}

function capturedLog() {
  const lines: string[] = [];
  return { log: createLogger({ level: 'info', write: (line) => lines.push(line) }), text: () => lines.join('') };
}

/** Messages a plain subscriber receives on `subject`, decoded as JSON. */
function collect(subject: string): { readonly ids: number[]; stop(): void } {
  const received: number[] = [];
  const subscription = nc.subscribe(subject, {
    callback: (_err, msg) => {
      received.push((msg.json() as Reading).id);
    },
  });
  return { ids: received, stop: () => subscription.unsubscribe() };
}

/** A NATS server of its own on a free port (here: one that wants a password). */
async function startNatsServer(args: readonly string[]): Promise<{ url: string; stop(): void }> {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const server = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), ...args], { stdio: 'ignore' });
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(false));
      socket.unref();
      setTimeout(() => socket.destroy(), 100);
    });
  for (let tries = 0; !(await listening()); tries++) {
    if (tries > 100) throw new Error('nats-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, stop: () => server.kill() };
}

async function failureOf(harness: StreamletHarness): Promise<string> {
  const outcome = await harness.app.finished;
  await harness.stop();
  if (outcome.ok) throw new Error('the streamlet did not fail');
  return outcome.error.message;
}

describe('core NATS ingress', () => {
  it('delivers what is published while it runs, in order, across a restart; what is published while it is stopped is not kept (at-most-once)', async () => {
    const subject = subjectOf('in');
    const ingress = natsIngress({ schema: Reading });
    const { harness: first } = await subscribed(ingress, { config: { subject } });
    await publish(
      subject,
      readings(0, 500).map((r) => JSON.stringify(r)),
    );
    await first.until(() => first.outputs('out').length === 500);
    await first.stop();
    await publish(subject, [JSON.stringify(reading(-1))]);

    const { harness: second } = await subscribed(ingress, { config: { subject } });
    await publish(
      subject,
      readings(500, 800).map((r) => JSON.stringify(r)),
    );
    await second.until(() => second.outputs('out').length === 300);
    await second.stop();
    expect([...ids(first), ...ids(second)]).toEqual(range(0, 800));
  });

  it('shares the messages of a subject among replicas in one queue group', async () => {
    const subject = subjectOf('queue');
    const ingress = natsIngress({ schema: Reading });
    const replicas = [
      (await subscribed(ingress, { config: { subject, queue: 'scorers' } })).harness,
      (await subscribed(ingress, { config: { subject, queue: 'scorers' } })).harness,
    ];
    await publish(
      subject,
      readings(0, 400).map((r) => JSON.stringify(r)),
    );
    const received = () => replicas.flatMap(ids);
    await replicas[0]!.until(() => received().length === 400);
    for (const replica of replicas) await replica.stop();
    expect(received().sort((a, b) => a - b)).toEqual(range(0, 400));
  });

  it('rejects malformed messages with the reason, counts them, and goes on', async () => {
    const subject = subjectOf('malformed');
    const { harness, text } = await subscribed(natsIngress({ schema: Reading }), { name: 'sensors', config: { subject, 'max-record-size': '1KiB' } });
    await publish(subject, [
      JSON.stringify(reading(1)),
      '{"id": 2,',
      JSON.stringify({ id: 3, machine: 7, value: 1 }),
      JSON.stringify({ id: 4, machine: 'm' }),
      JSON.stringify({ ...reading(5), machine: 'x'.repeat(2000) }),
      JSON.stringify(reading(6)),
    ]);
    await harness.until(() => harness.outputs('out').length === 2);
    await harness.until(() => text().split('rejected a message').length - 1 === 4);
    const metrics = (await harness.app.metrics.exposition()).body;
    await harness.stop();
    expect(ids(harness)).toEqual([1, 6]);
    expect(text()).toContain(`record on sensors (subject ${subject}) cannot be decoded with schema plant.Reading: not JSON`);
    expect(text()).toContain('machine: 7 is not a string');
    expect(text()).toContain('value: missing (double, no default)');
    expect(text()).toMatch(/is 20\d\d bytes, over the limit of 1024 bytes/);
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="undecodable"[^}]*\} 1/);
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="invalid"[^}]*\} 2/);
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="too_large"[^}]*\} 1/);
  });

  it('waits for a server that is down at start, and reconnects after it goes away mid-run', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 }, { startClosed: true });
    const subject = subjectOf('reconnect');
    const { log, text } = capturedLog();
    const harness = await startStreamlet(natsIngress({ schema: Reading }), { log, config: { servers: `nats://${proxy.address}`, subject } });
    try {
      await harness.until(() => text().includes(`cannot connect to NATS nats://${proxy.address}; retrying`));
      await proxy.reopen();
      await harness.until(() => text().includes('subscribed to NATS subject'));
      await publish(
        subject,
        readings(0, 100).map((r) => JSON.stringify(r)),
      );
      await harness.until(() => harness.outputs('out').length === 100);

      await proxy.close();
      await harness.until(() => text().includes(`lost the connection to NATS nats://${proxy.address}; reconnecting`));
      await proxy.reopen();
      await harness.until(() => text().includes(`reconnected to NATS nats://${proxy.address}`), 20_000);
      // Core NATS delivers only once the server has the resubscription: probe until one arrives.
      while (!ids(harness).includes(-1)) {
        await publish(subject, [JSON.stringify(reading(-1))]);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await publish(
        subject,
        readings(100, 200).map((r) => JSON.stringify(r)),
      );
      await harness.until(() => ids(harness).filter((id) => id >= 0).length === 200);
      expect(ids(harness).filter((id) => id >= 0)).toEqual(range(0, 200));
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('stops with a message naming a wrong configuration', async () => {
    const ingress = natsIngress({ schema: Reading });
    const start = (config: Record<string, unknown>) => startStreamlet(ingress, { name: 'sensors', config });
    expect(await failureOf(await start({ subject: 'a', servers: 'http://127.0.0.1:4222' }))).toBe(
      'streamlet sensors failed: sensors.servers: "http://127.0.0.1:4222" is not a NATS server address: expected nats://host:port',
    );
    expect(await failureOf(await start({ subject: 'a', token: 'file:/nonexistent/sluice-token' }))).toMatch(
      /^streamlet sensors failed: sensors.token: cannot read secret file \/nonexistent\/sluice-token: ENOENT/,
    );
    const secured = await startNatsServer(['--user', 'scorer', '--pass', 'right']);
    try {
      expect(await failureOf(await start({ subject: 'a', servers: secured.url, user: 'scorer', password: 'wrong' }))).toBe(
        `streamlet sensors failed: sensors.servers: NATS ${secured.url} refused the credentials: Authorization Violation`,
      );
    } finally {
      secured.stop();
    }
    await expect(start({ subject: 'a b' })).rejects.toThrow('subject "a b" does not match');
    await expect(start({ subject: 'a.>.b' })).rejects.toThrow('subject "a.>.b" does not match');
    await expect(start({ subject: 'a', format: 'protobuf' })).rejects.toThrow('format expected one of json, avro, got "protobuf"');
  });
});

describe('core NATS egress', () => {
  it('publishes every record to the subject across a restart, in order', async () => {
    const subject = subjectOf('out');
    const subscriber = collect(subject);
    const egress = natsEgress({ schema: Reading });
    const first = await startStreamlet(egress, { config: { subject } });
    await first.send('in', readings(0, 300));
    await first.until(() => first.committed('in') === 300);
    await first.stop();
    const second = await startStreamlet(egress, { config: { subject } });
    await second.send('in', readings(300, 500));
    await second.until(() => second.committed('in') === 200);
    await second.stop();
    await nc.flush();
    await first.until(() => subscriber.ids.length === 500);
    subscriber.stop();
    expect(subscriber.ids).toEqual(range(0, 500));
  });

  it('reports a record the server refuses (over max_payload) and publishes the rest', async () => {
    const subject = subjectOf('big');
    const subscriber = collect(subject);
    const { log, text } = capturedLog();
    const harness = await startStreamlet(natsEgress({ schema: Reading }), { log, config: { subject } });
    await harness.send('in', [reading(1), { ...reading(2), machine: 'x'.repeat(2 * 1024 * 1024) }, reading(3)]);
    await harness.until(() => harness.committed('in') === 3);
    const metrics = (await harness.app.metrics.exposition()).body;
    await harness.stop();
    await harness.until(() => subscriber.ids.length === 2);
    subscriber.stop();
    expect(subscriber.ids).toEqual([1, 3]);
    expect(text()).toContain(`NATS subject ${subject} refused a record`);
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="refused"[^}]*\} 1/);
  });

  it('waits for a server that is down at start, then publishes everything', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 }, { startClosed: true });
    const subject = subjectOf('down');
    const subscriber = collect(subject);
    const { log, text } = capturedLog();
    const harness = await startStreamlet(natsEgress({ schema: Reading }), { log, config: { servers: proxy.address, subject } });
    try {
      await harness.send('in', readings(0, 200));
      await harness.until(() => text().includes(`cannot connect to NATS ${proxy.address}; retrying`));
      expect(harness.committed('in')).toBe(0);
      await proxy.reopen();
      await harness.until(() => harness.committed('in') === 200, 20_000);
      await harness.until(() => subscriber.ids.length === 200);
      expect(subscriber.ids).toEqual(range(0, 200));
    } finally {
      subscriber.stop();
      await harness.stop();
      await proxy.close();
    }
  });
});
