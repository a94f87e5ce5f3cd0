import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { mqttEgress } from '../../../src/connectors/mqtt/index.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import { BROKER, captureLog, metric, rawClient, Reading, reading, tally, unique, until, type ReadingValue } from './support.js';

interface Received {
  readonly topic: string;
  readonly record: ReadingValue;
  readonly retain: boolean;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => reading(from + i));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A raw subscriber collecting what the egress published under `base`. */
async function subscriber(base: string): Promise<{ client: MqttClient; received: Received[] }> {
  const client = await rawClient();
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    // An empty payload clears a retained message; it carries no record.
    if (payload.length > 0) received.push({ topic, record: JSON.parse(payload.toString()) as ReadingValue, retain: packet.retain });
  });
  await client.subscribeAsync(`${base}/#`, { qos: 1 });
  cleanups.push(() => client.endAsync());
  return { client, received };
}

async function start(config: Record<string, unknown>, log = captureLog(), definition = mqttEgress({ schema: Reading })): Promise<StreamletHarness> {
  const harness = await startStreamlet(definition, { name: 'mqtt-out', config: { url: BROKER, ...config }, log: log.log });
  cleanups.push(() => harness.stop());
  return harness;
}

const idsOf = (received: readonly Received[]) => received.map((r) => r.record.id);

describe('MQTT egress', () => {
  it('publishes every record to its templated topic and commits after the PUBACKs, across a restart', async () => {
    const base = unique('sluice-test/out');
    const { received } = await subscriber(base);
    const config = { topic: `${base}/{machine}/alerts` };
    const first = await start(config);
    await first.send('in', range(0, 500));
    await until(() => first.committed('in') === 500, '500 committed');
    await first.stop();
    const second = await start(config);
    await second.send('in', range(500, 1000));
    await until(() => second.committed('in') === 500, '500 more committed');
    // Committed means acknowledged by the broker, so the subscriber gets them all.
    await until(() => received.length >= 1000, '1000 messages');
    expect(tally(idsOf(received), 1000)).toEqual({ missing: [], duplicates: 0 });
    expect(received.every((r) => r.topic === `${base}/${r.record.machine}/alerts` && !r.retain)).toBe(true);
    expect(received[0]?.record).toEqual(reading(0));
  });

  it('publishes with the retain flag, and takes the topic from a function when given one', async () => {
    const base = unique('sluice-test/retain');
    const definition = mqttEgress({ schema: Reading, topic: (r) => `${base}/by-id/${r.id}` });
    const harness = await start({ retain: true }, captureLog(), definition);
    await harness.send('in', [reading(1), reading(2)]);
    await until(() => harness.committed('in') === 2, 'committed');
    // A subscriber that arrives later gets the retained messages.
    const { client, received } = await subscriber(base);
    await until(() => received.length === 2, 'two retained messages');
    expect(received.map((r) => [r.topic, r.retain])).toEqual(
      expect.arrayContaining([
        [`${base}/by-id/1`, true],
        [`${base}/by-id/2`, true],
      ]),
    );
    for (const id of [1, 2]) await client.publishAsync(`${base}/by-id/${id}`, '', { qos: 1, retain: true });
  });

  it('reports and counts records it cannot publish or the broker refuses, and goes on', async () => {
    const base = unique('sluice-test/refused');
    const { received } = await subscriber(base);
    const definition = mqttEgress({
      schema: Reading,
      topic: (r) => {
        if (r.machine === 'throws') throw new Error('no route for this machine');
        return r.machine === 'sys' ? '$SYS/sluice-test' : `${base}/${r.machine}`;
      },
    });
    const log = captureLog();
    const harness = await start({}, log, definition);
    await harness.send('in', [reading(0, 'ok'), reading(1, 'sys'), reading(2, 'a/+'), reading(3, 'throws'), reading(4, 'ok')]);
    await until(() => harness.committed('in') === 5, 'all committed');
    await until(() => received.length === 2, 'the two good records');
    expect(idsOf(received)).toEqual([0, 4]);
    const rejected = log.messages(/^rejected a message/).map((l) => `${String(l.reason)}: ${String(l.msg)}`);
    expect(rejected).toEqual([
      expect.stringMatching(/^invalid: rejected a message: cannot publish a record: the topic ".*\/a\/\+" contains a wildcard/),
      expect.stringMatching(/^invalid: rejected a message: cannot compute the topic of a record: no route for this machine/),
      'refused: rejected a message: Publish error: Not authorized',
    ]);
    expect(await metric(harness.url, 'sluice_connector_rejected_total', { reason: 'refused' })).toBe(1);
    expect(await metric(harness.url, 'sluice_connector_rejected_total', { reason: 'invalid' })).toBe(2);
  });

  it('waits for a broker that is down at start without committing, then publishes everything', async () => {
    const base = unique('sluice-test/down');
    const { received } = await subscriber(base);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 1883 }, { startClosed: true });
    cleanups.push(() => proxy.close());
    const log = captureLog();
    const harness = await start({ url: `mqtt://${proxy.address}`, topic: `${base}/x` }, log);
    await harness.send('in', range(0, 200));
    const refused = await log.waitFor(/^cannot connect to MQTT broker/);
    expect(refused).toMatchObject({ level: 'warn', error: expect.stringMatching(/ECONNREFUSED/) });
    await log.waitFor(/^cannot connect to MQTT broker/);
    expect(harness.committed('in')).toBe(0);
    await proxy.reopen();
    await until(() => harness.committed('in') === 200, 'all committed');
    await until(() => received.length >= 200, 'all published');
    expect(tally(idsOf(received), 200)).toEqual({ missing: [], duplicates: 0 });
  });

  it('resends what the broker had not acknowledged when the connection drops mid-run', async () => {
    const base = unique('sluice-test/drop');
    const { received } = await subscriber(base);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 1883 });
    cleanups.push(() => proxy.close());
    const log = captureLog();
    const harness = await start({ url: `mqtt://${proxy.address}`, topic: `${base}/x` }, log);
    const sending = (async () => {
      for (let from = 0; from < 3000; from += 100) await harness.send('in', range(from, from + 100));
    })();
    await until(() => harness.committed('in') >= 500, 'some committed');
    await proxy.close();
    await log.waitFor(/^lost the connection to MQTT broker/);
    const committedWhileDown = harness.committed('in');
    await log.waitFor(/^cannot connect to MQTT broker/);
    expect(harness.committed('in')).toBe(committedWhileDown);
    await proxy.reopen();
    await sending;
    await until(() => harness.committed('in') === 3000, 'all committed');
    await until(() => tally(idsOf(received), 3000).missing.length === 0, 'all 3000 published');
    // At-least-once: a message whose PUBACK was lost with the connection is published again.
    expect(received.length).toBeGreaterThanOrEqual(3000);
  });

  it('reports config errors by key', async () => {
    await expect(start({ topic: 'a', retain: 'sometimes' })).rejects.toThrow(/retain expected true or false, got "sometimes"/);
    await expect(start({ topic: 'a', 'protocol-version': '3' })).rejects.toThrow(/protocol-version expected one of 5, 3\.1\.1, got "3"/);
    await expect(start({ topic: 'a', colour: 'red' })).rejects.toThrow(/colour is unknown/);
    const failure = async (config: Record<string, unknown>) => {
      const harness = await startStreamlet(mqttEgress({ schema: Reading }), { name: 'mqtt-out', config: { url: BROKER, ...config } });
      const outcome = await harness.app.finished;
      return outcome.ok ? 'ok' : outcome.error.message;
    };
    expect(await failure({})).toMatch(/topic: is required: the topic to publish to/);
    expect(await failure({ topic: 'alerts/{machin}' })).toMatch(
      /topic: "alerts\/\{machin\}": \{machin\} names no field of test\.connectors\.Reading \(fields: id, machine, value, topic\)/,
    );
    expect(await failure({ topic: 'alerts/{machine' })).toMatch(/topic: "alerts\/\{machine": has an unmatched brace/);
    expect(await failure({ topic: 'a', url: 'amqp://127.0.0.1' })).toMatch(/url: "amqp:\/\/127\.0\.0\.1" is not an MQTT broker URL/);
  });
});
