import type { GetMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { amqpEgress } from '../../../src/connectors/amqp/index.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import { captureLog, metric, Reading, reading, tally, unique, until, type CapturedLog, type ReadingValue } from '../mqtt/support.js';
import { AMQP, rawAmqp, type RawAmqp } from './support.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => reading(from + i));

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

async function declaredQueue(): Promise<string> {
  const name = unique('sluice-test-out');
  queues.push(name);
  await raw.channel.assertQueue(name, { durable: true });
  return name;
}

async function start(
  config: Record<string, unknown>,
  log: CapturedLog = captureLog(),
  definition = amqpEgress({ schema: Reading }),
): Promise<StreamletHarness> {
  const harness = await startStreamlet(definition, { name: 'amqp-out', config: { url: AMQP, ...config }, log: log.log });
  stops.push(() => harness.stop());
  return harness;
}

/** Takes messages from `queue` until `count` arrived. */
async function takeAll(queue: string, count: number): Promise<GetMessage[]> {
  const taken: GetMessage[] = [];
  for (const deadline = Date.now() + 15_000; taken.length < count && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
    taken.push(...(await raw.take(queue)));
  }
  return taken;
}

const idsOf = (messages: readonly GetMessage[]) => messages.map((m) => (JSON.parse(m.content.toString()) as ReadingValue).id);

describe('AMQP egress', () => {
  it('publishes every record as a persistent message and commits after the confirms, across a restart', async () => {
    const queue = await declaredQueue();
    const first = await start({ 'routing-key': queue });
    await first.send('in', range(0, 500));
    await until(() => first.committed('in') === 500, '500 committed');
    // Committed means confirmed by the broker: the messages are in the queue.
    expect((await raw.channel.checkQueue(queue)).messageCount).toBe(500);
    await first.stop();
    const second = await start({ 'routing-key': queue });
    await second.send('in', range(500, 1000));
    await until(() => second.committed('in') === 500, '500 more committed');
    const messages = await takeAll(queue, 1000);
    expect(tally(idsOf(messages), 1000)).toEqual({ missing: [], duplicates: 0 });
    expect(messages[0]?.properties).toMatchObject({ deliveryMode: 2, contentType: 'application/json' });
    expect(JSON.parse(messages[0]?.content.toString() ?? '')).toEqual(reading(0));
  });

  it('routes by a routing-key template, reports unroutable records and counts them', async () => {
    const exchange = unique('sluice-test-x');
    exchanges.push(exchange);
    await raw.channel.assertExchange(exchange, 'topic', { durable: false });
    const queue = await declaredQueue();
    await raw.channel.bindQueue(queue, exchange, 'alerts.m1');
    const log = captureLog();
    const harness = await start({ exchange, 'routing-key': 'alerts.{machine}' }, log);
    await harness.send('in', range(0, 9));
    await until(() => harness.committed('in') === 9, 'all committed');
    const messages = await takeAll(queue, 3);
    expect(idsOf(messages)).toEqual([1, 4, 7]);
    expect(messages.map((m) => m.fields.routingKey)).toEqual(['alerts.m1', 'alerts.m1', 'alerts.m1']);
    const rejected = log.messages(/^rejected a message/);
    expect(rejected).toHaveLength(6);
    expect(rejected[0]).toMatchObject({
      reason: 'refused',
      msg: `rejected a message: no queue is bound to exchange ${exchange} for routing key alerts.m0; the broker returned the message`,
    });
    expect(await metric(harness.url, 'sluice_connector_rejected_total', { reason: 'refused' })).toBe(6);
  });

  it('takes routing keys and message ids from functions, declares its exchange, and rejects records it cannot send', async () => {
    const exchange = unique('sluice-test-x');
    exchanges.push(exchange);
    const queue = unique('sluice-test-out');
    queues.push(queue);
    const definition = amqpEgress({
      schema: Reading,
      routingKey: (r) => {
        if (r.machine === 'throws') throw new Error('no route for this machine');
        return r.machine === 'long' ? 'k'.repeat(300) : `machine.${r.machine}`;
      },
      messageId: (r) => `reading-${r.id}`,
    });
    const log = captureLog();
    const harness = await start({ exchange, declare: true, 'exchange-type': 'direct', 'max-message-size': '120B' }, log, definition);
    await harness.send('in', [reading(0, 'a')]);
    await until(() => harness.committed('in') === 1, 'the first record committed');
    // The exchange exists now; bind a queue and send the rest.
    await raw.channel.assertQueue(queue, { durable: false });
    await raw.channel.bindQueue(queue, exchange, 'machine.a');
    await harness.send('in', [reading(1, 'a'), reading(2, 'throws'), reading(3, 'long'), reading(4, 'a'.repeat(200)), reading(5, 'a')]);
    await until(() => harness.committed('in') === 6, 'all committed');
    const messages = await takeAll(queue, 2);
    expect(idsOf(messages)).toEqual([1, 5]);
    expect(messages.map((m) => m.properties.messageId)).toEqual(['reading-1', 'reading-5']);
    const rejected = log.messages(/^rejected a message/).map((l) => `${String(l.reason)}: ${String(l.msg)}`);
    expect(rejected).toEqual([
      // The first record went out before any queue was bound to its key.
      expect.stringMatching(/^refused: .*no queue is bound to exchange .* for routing key machine\.a/),
      'invalid: rejected a message: cannot compute the routing key of a record: no route for this machine',
      'invalid: rejected a message: routing key of 300 bytes is over the AMQP limit of 255',
      expect.stringMatching(/^too_large: .*record on AMQP exchange .* routing key machine\.a+ is \d+ bytes, over the limit of 120 bytes/),
    ]);
  });

  it('waits for a broker that is down at start without committing, then publishes everything', async () => {
    const queue = await declaredQueue();
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5672 }, { startClosed: true });
    stops.push(() => proxy.close());
    const log = captureLog();
    const harness = await start({ url: `amqp://${proxy.address}`, 'routing-key': queue }, log);
    await harness.send('in', range(0, 200));
    const refused = await log.waitFor(/^cannot connect to AMQP broker/);
    expect(refused).toMatchObject({ level: 'warn', error: expect.stringMatching(/ECONNREFUSED/) });
    expect(harness.committed('in')).toBe(0);
    await proxy.reopen();
    await until(() => harness.committed('in') === 200, 'all committed');
    expect(tally(idsOf(await takeAll(queue, 200)), 200)).toEqual({ missing: [], duplicates: 0 });
  });

  it('publishes again what the broker had not confirmed when the connection drops mid-run', async () => {
    const queue = await declaredQueue();
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5672 });
    stops.push(() => proxy.close());
    const log = captureLog();
    const harness = await start({ url: `amqp://${proxy.address}`, 'routing-key': queue }, log);
    const sending = (async () => {
      for (let from = 0; from < 3000; from += 100) await harness.send('in', range(from, from + 100));
    })();
    await until(() => harness.committed('in') >= 500, 'some committed');
    await proxy.close();
    await log.waitFor(/^lost the connection to AMQP broker/);
    const committedWhileDown = harness.committed('in');
    await log.waitFor(/^cannot connect to AMQP broker/);
    expect(harness.committed('in')).toBe(committedWhileDown);
    await proxy.reopen();
    await sending;
    await until(() => harness.committed('in') === 3000, 'all committed');
    const messages = await takeAll(queue, 3000);
    // At-least-once: a message whose confirm was lost with the connection is published again.
    expect(tally(idsOf(messages), 3000).missing).toEqual([]);
  });

  it('reports config errors by key', async () => {
    await expect(start({ 'routing-key': 'q', persistent: 'maybe' })).rejects.toThrow(/persistent expected true or false, got "maybe"/);
    await expect(start({ 'routing-key': 'q', 'max-message-size': '-1' })).rejects.toThrow(/max-message-size/);
    const failure = async (config: Record<string, unknown>) => {
      const harness = await start(config);
      const outcome = await harness.app.finished;
      return outcome.ok ? 'ok' : outcome.error.message;
    };
    expect(await failure({})).toMatch(/routing-key: is required with the default exchange \(exchange = ""\): it names the queue to publish to/);
    expect(await failure({ 'routing-key': 'score.{regio}' })).toMatch(/routing-key: "score\.\{regio\}": \{regio\} names no field of test\.connectors\.Reading/);
    const missing = unique('sluice-test-missing');
    expect(await failure({ exchange: missing, 'routing-key': 'x' })).toMatch(
      new RegExp(
        `exchange: exchange ${missing} does not exist \\(set declare = true to create it\\) on AMQP broker amqp://127\\.0\\.0\\.1:5672: .*404 \\(NOT-FOUND\\)`,
      ),
    );
    expect(await failure({ 'routing-key': 'q', url: 'amqp//127.0.0.1' })).toMatch(/url: "amqp\/\/127\.0\.0\.1" is not a URL/);
  });
});
