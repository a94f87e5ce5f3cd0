import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { amqpIngress } from '../../../src/connectors/amqp/index.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import { captureLog, ids, metric, Reading, reading, tally, unique, until, type CapturedLog } from '../mqtt/support.js';
import { AMQP, rawAmqp, type RawAmqp } from './support.js';

const ingress = amqpIngress({ schema: Reading });
const json = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => JSON.stringify(reading(from + i)));

let raw: RawAmqp;
const queues: string[] = [];
const exchanges: string[] = [];
const stops: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  raw = await rawAmqp();
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});
afterAll(async () => {
  await raw.cleanUp({ queues, exchanges });
  await raw.close();
});

const queueName = () => {
  const name = unique('sluice-test-in');
  queues.push(name);
  return name;
};

async function start(config: Record<string, unknown>, log: CapturedLog = captureLog()): Promise<StreamletHarness> {
  const harness = await startStreamlet(ingress, { name: 'amqp-in', config: { url: AMQP, ...config }, log: log.log });
  stops.push(() => harness.stop());
  return harness;
}

describe('AMQP ingress', () => {
  it('delivers every message across a restart, including those queued while the app was down, each once after a clean stop', async () => {
    const queue = queueName();
    const log = captureLog();
    const first = await start({ queue, declare: true, prefetch: 50 }, log);
    await log.waitFor(/^consuming queue/);
    await raw.send(queue, json(0, 300));
    await until(() => first.outputs('out').length >= 300, '300 records');
    await first.stop();
    const before = [...first.outputs('out')];

    await raw.send(queue, json(300, 600));
    const second = await start({ queue, declare: true, prefetch: 50 });
    await until(() => second.outputs('out').length >= 300, '300 more records after the restart');
    await second.stop();
    expect(tally(ids([...before, ...second.outputs('out')]), 600)).toEqual({ missing: [], duplicates: 0 });
    expect(second.outputs('out')[0]).toEqual(reading(300));
    expect((await raw.channel.checkQueue(queue)).messageCount).toBe(0);
  });

  it('rejects malformed messages with their reason to the dead-letter exchange, and keeps going', async () => {
    const queue = queueName();
    const dlx = unique('sluice-test-dlx');
    const dlq = queueName();
    exchanges.push(dlx);
    await raw.channel.assertExchange(dlx, 'fanout', { durable: false });
    await raw.channel.assertQueue(dlq, { durable: false });
    await raw.channel.bindQueue(dlq, dlx, '');
    const log = captureLog();
    const harness = await start({ queue, declare: true, 'dead-letter-exchange': dlx, 'max-message-size': '1KiB' }, log);
    await log.waitFor(/^consuming queue/);
    const bad = [
      '{"id": 1, "machine": "m1", "value": ',
      '{"id": "one", "machine": "m1", "value": 1}',
      '{"id": 2, "value": 1}',
      JSON.stringify({ ...reading(3), machine: 'x'.repeat(2000) }),
    ];
    await raw.send(queue, [...bad, ...json(4, 5)]);
    await until(() => harness.outputs('out').length === 1, 'the good record');
    expect(ids(harness.outputs('out'))).toEqual([4]);

    await until(() => log.messages(/^rejected a message/).length === 4, 'four rejections');
    const rejected = log.messages(/^rejected a message/);
    expect(rejected.map((l) => `${String(l.reason)}: ${String(l.msg)}`)).toEqual([
      expect.stringMatching(/^undecodable: .*record on AMQP queue sluice-test-in-\w+ cannot be decoded .*not JSON/),
      expect.stringMatching(/^invalid: .*id: "one" is not an integer/),
      expect.stringMatching(/^invalid: .*machine: missing/),
      expect.stringMatching(/^too_large: .*is 20\d\d bytes, over the limit of 1024 bytes/),
    ]);
    expect(rejected.every((l) => l.queue === queue && l.routingKey === queue)).toBe(true);
    expect(await metric(harness.url, 'sluice_connector_rejected_total', { reason: 'invalid' })).toBe(2);
    expect(await metric(harness.url, 'sluice_connector_rejected_total', { reason: 'undecodable' })).toBe(1);
    expect(await metric(harness.url, 'sluice_connector_rejected_total', { reason: 'too_large' })).toBe(1);

    // Rejected without requeue: they sit in the dead-letter queue, not in the source queue.
    const dead: Awaited<ReturnType<RawAmqp['take']>> = [];
    for (const deadline = Date.now() + 10_000; dead.length < 4 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
      dead.push(...(await raw.take(dlq)));
    }
    expect(dead.map((m) => m.content.toString())).toEqual(bad);
    expect(dead[0]?.properties.headers?.['x-death']).toEqual([expect.objectContaining({ queue, reason: 'rejected' })]);
    await harness.stop();
    expect((await raw.channel.checkQueue(queue)).messageCount).toBe(0);
  });

  it('declares an exchange and binds the queue with the configured keys', async () => {
    const queue = queueName();
    const exchange = unique('sluice-test-x');
    exchanges.push(exchange);
    const log = captureLog();
    const harness = await start({ queue, declare: true, exchange, 'exchange-type': 'topic', 'binding-keys': 'sensor.*, machine.#' }, log);
    await log.waitFor(/^consuming queue/);
    raw.channel.publish(exchange, 'sensor.a', Buffer.from(JSON.stringify(reading(1))));
    raw.channel.publish(exchange, 'other.a', Buffer.from(JSON.stringify(reading(2))));
    raw.channel.publish(exchange, 'machine.7.temp', Buffer.from(JSON.stringify(reading(3))));
    await raw.channel.waitForConfirms();
    await until(() => harness.outputs('out').length === 2, 'the two bound records');
    expect(ids(harness.outputs('out'))).toEqual([1, 3]);
  });

  it('waits for a broker that is down at start, then delivers everything queued', async () => {
    const queue = queueName();
    await raw.channel.assertQueue(queue, { durable: true });
    await raw.send(queue, json(0, 100));
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5672 }, { startClosed: true });
    stops.push(() => proxy.close());
    const log = captureLog();
    const harness = await start({ url: `amqp://${proxy.address}`, queue }, log);
    const refused = await log.waitFor(/^cannot connect to AMQP broker/);
    expect(refused).toMatchObject({
      level: 'warn',
      msg: `cannot connect to AMQP broker amqp://${proxy.address}; retrying`,
      error: expect.stringMatching(/ECONNREFUSED/),
    });
    await proxy.reopen();
    await until(() => harness.outputs('out').length >= 100, '100 records after the broker came back');
    expect(tally(ids(harness.outputs('out')), 100)).toEqual({ missing: [], duplicates: 0 });
    expect(log.messages(/^connected to AMQP broker/)).toHaveLength(1);
  });

  it('reconnects when the connection drops mid-run and loses nothing; redelivers at most a prefetch window', async () => {
    const queue = queueName();
    await raw.channel.assertQueue(queue, { durable: true });
    await raw.send(queue, json(0, 2000));
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5672 });
    stops.push(() => proxy.close());
    const log = captureLog();
    const harness = await start({ url: `amqp://${proxy.address}`, queue, prefetch: 100 }, log);
    await until(() => harness.outputs('out').length >= 300, 'some records');
    await proxy.close();
    await log.waitFor(/^lost the connection to AMQP broker/);
    await log.waitFor(/^cannot connect to AMQP broker/);
    await proxy.reopen();
    await until(() => tally(ids(harness.outputs('out')), 2000).missing.length === 0, 'all 2000 records');
    // At-least-once: what was delivered but not acknowledged when the connection dropped comes again.
    expect(tally(ids(harness.outputs('out')), 2000).duplicates).toBeLessThanOrEqual(100);
  });

  it('stops with a clear error when its queue is deleted under it', async () => {
    const queue = queueName();
    await raw.channel.assertQueue(queue, { durable: true });
    const log = captureLog();
    const harness = await start({ queue, prefetch: 10 }, log);
    await log.waitFor(/^consuming queue/);
    await raw.channel.deleteQueue(queue);
    const outcome = await harness.app.finished;
    expect(log.messages(/^the broker cancelled the consumer of queue/)).toHaveLength(1);
    expect(outcome.ok ? 'ok' : outcome.error.message).toMatch(new RegExp(`queue: queue ${queue} does not exist \\(set declare = true to create it\\)`));
  });

  it('reports config errors by key', async () => {
    await expect(start({})).rejects.toThrow(/queue is required/);
    await expect(start({ queue: 'q', prefetch: 0 })).rejects.toThrow(/prefetch must be at least 1, got 0/);
    await expect(start({ queue: 'q', 'exchange-type': 'round-robin' })).rejects.toThrow(/exchange-type expected one of direct, topic, fanout, headers/);
    const failure = async (config: Record<string, unknown>) => {
      const harness = await start(config);
      const outcome = await harness.app.finished;
      return outcome.ok ? 'ok' : outcome.error.message;
    };
    const missing = unique('sluice-test-missing');
    expect(await failure({ queue: missing })).toMatch(
      new RegExp(
        `queue: queue ${missing} does not exist \\(set declare = true to create it\\) on AMQP broker amqp://127\\.0\\.0\\.1:5672: .*404 \\(NOT-FOUND\\)`,
      ),
    );
    const plain = queueName();
    await raw.channel.assertQueue(plain, { durable: true });
    expect(await failure({ queue: plain, declare: true, 'dead-letter-exchange': 'elsewhere' })).toMatch(
      new RegExp(`declare: cannot declare queue ${plain} on AMQP broker .*406 \\(PRECONDITION-FAILED\\).*inequivalent arg 'x-dead-letter-exchange'`),
    );
    expect(await failure({ queue: 'q', url: 'mqtt://127.0.0.1' })).toMatch(/url: "mqtt:\/\/127\.0\.0\.1" is not an AMQP broker URL/);
    expect(await failure({ queue: 'q', url: 'amqp://user:secret@' })).toMatch(/url: "amqp:\/\/user:\*\*\*@" is not a URL/);
    expect(await failure({ queue: 'q', password: 'file:/no/such/secret' })).toMatch(/password: cannot read secret file \/no\/such\/secret/);
  });

  it('keeps retrying with a clear error when the broker refuses the credentials', async () => {
    const log = captureLog();
    await start({ queue: 'q', username: 'guest', password: 'wrong' }, log);
    const refused = await log.waitFor(/^cannot connect to AMQP broker/);
    expect(String(refused.error)).toMatch(/ACCESS.REFUSED|403/);
  });
});
