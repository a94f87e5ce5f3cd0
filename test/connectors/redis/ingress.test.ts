import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStreamIngress } from '../../../src/connectors/redis/ingress.js';
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

const suffix = randomBytes(4).toString('hex');
const keys: string[] = [];
const streamKey = (name: string) => {
  const key = `sluice-test:${name}:${suffix}`;
  keys.push(key, `${key}:dead`);
  return key;
};
let redis: Redis;

beforeAll(() => {
  redis = new Redis({ host: '127.0.0.1', port: 6379 });
});

afterAll(async () => {
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const reading = (id: number): Reading => ({ id, machine: `m-${id % 5}`, value: id / 4 });
const readings = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => reading(from + i));

async function append(stream: string, values: readonly (string | Buffer)[], field = 'data'): Promise<void> {
  const pipeline = redis.pipeline();
  for (const value of values) pipeline.xadd(stream, '*', field, value);
  await pipeline.exec();
}

function capturedLog() {
  const lines: string[] = [];
  return { log: createLogger({ level: 'info', write: (line) => lines.push(line) }), text: () => lines.join('') };
}

const ids = (harness: StreamletHarness) => (harness.outputs('out') as Reading[]).map((r) => r.id);
const distinct = (values: readonly number[]) => [...new Set(values)].sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function pendingCount(stream: string, group: string): Promise<number> {
  const [count] = (await redis.xpending(stream, group)) as [number, ...unknown[]];
  return count;
}

async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
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

describe('Redis Streams ingress', () => {
  it('delivers every entry exactly once across a clean restart, and acknowledges what it emitted', async () => {
    const stream = streamKey('restart');
    const ingress = redisStreamIngress({ schema: Reading });
    const config = { stream, group: 'scoring', consumer: 'worker-1', 'batch-size': 100 };
    await append(
      stream,
      readings(0, 1000).map((r) => JSON.stringify(r)),
    );

    const first = await startStreamlet(ingress, { config });
    await first.until(() => first.outputs('out').length >= 300);
    await first.stop();
    const before = ids(first);

    await append(
      stream,
      readings(1000, 1500).map((r) => JSON.stringify(r)),
    );
    const second = await startStreamlet(ingress, { config });
    await second.until(() => before.length + second.outputs('out').length >= 1500);
    await second.stop();

    const all = [...before, ...ids(second)];
    expect(all).toHaveLength(1500);
    expect(distinct(all)).toEqual(range(1500));
    expect(await pendingCount(stream, 'scoring')).toBe(0);
  });

  it("re-delivers this consumer's unacknowledged entries on start (a crash between read and ack)", async () => {
    const stream = streamKey('pending');
    await append(
      stream,
      readings(0, 50).map((r) => JSON.stringify(r)),
    );
    // A previous run of worker-1 read 30 entries and died before acknowledging them.
    await redis.xgroup('CREATE', stream, 'scoring', '0');
    await redis.xreadgroup('GROUP', 'scoring', 'worker-1', 'COUNT', 30, 'STREAMS', stream, '>');
    expect(await pendingCount(stream, 'scoring')).toBe(30);

    const harness = await startStreamlet(redisStreamIngress({ schema: Reading }), { config: { stream, group: 'scoring', consumer: 'worker-1' } });
    await harness.until(() => harness.outputs('out').length === 50);
    await harness.stop();
    expect(ids(harness)).toEqual(range(50));
    expect(await pendingCount(stream, 'scoring')).toBe(0);
  });

  it('claims entries left pending by a consumer that died, once they were idle for claim-idle', async () => {
    const stream = streamKey('claim');
    await append(
      stream,
      readings(0, 20).map((r) => JSON.stringify(r)),
    );
    await redis.xgroup('CREATE', stream, 'scoring', '0');
    await redis.xreadgroup('GROUP', 'scoring', 'dead-worker', 'COUNT', 20, 'STREAMS', stream, '>');
    await append(
      stream,
      readings(20, 30).map((r) => JSON.stringify(r)),
    );

    const { log, text } = capturedLog();
    const harness = await startStreamlet(redisStreamIngress({ schema: Reading }), {
      log,
      config: { stream, group: 'scoring', consumer: 'worker-2', 'claim-idle': '300ms' },
    });
    await harness.until(() => harness.outputs('out').length === 30);
    await harness.stop();
    expect(distinct(ids(harness))).toEqual(range(30));
    expect(await pendingCount(stream, 'scoring')).toBe(0);
    expect(text()).toContain('claimed entries idle on other consumers');
  });

  it('dead-letters malformed entries with the reason to <stream>:dead, acknowledges them, and goes on', async () => {
    const stream = streamKey('malformed');
    await append(stream, [
      JSON.stringify(reading(1)),
      '{"id": 2, "machine": ',
      JSON.stringify({ id: 'three', machine: 'm', value: 1 }),
      JSON.stringify({ id: 4, value: 1 }),
      JSON.stringify({ ...reading(5), machine: 'x'.repeat(2000) }),
      JSON.stringify(reading(6)),
    ]);
    await append(stream, ['{"id": 7}'], 'payload');
    await append(stream, [JSON.stringify(reading(8))]);
    const { log, text } = capturedLog();
    const harness = await startStreamlet(redisStreamIngress({ schema: Reading }), {
      log,
      name: 'sensors',
      config: { stream, group: 'scoring', consumer: 'w', 'max-record-size': '1KiB' },
    });
    await harness.until(() => harness.outputs('out').length === 3);
    await harness.until(() => text().split('rejected a message').length - 1 === 5);
    const metrics = (await harness.app.metrics.exposition()).body;
    await harness.stop();

    expect(ids(harness)).toEqual([1, 6, 8]);
    expect(await pendingCount(stream, 'scoring')).toBe(0);
    const dead = (await redis.xrange(`${stream}:dead`, '-', '+')).map(([, fields]) => Object.fromEntries(pairs(fields)));
    expect(dead.map((d) => d.reason)).toEqual([
      expect.stringMatching(/^record on sensors \(stream .*\) entry \d+-\d+ cannot be decoded with schema plant.Reading: not JSON: /),
      expect.stringMatching(/does not match schema plant.Reading: id: "three" is not an integer \(long\)$/),
      expect.stringMatching(/does not match schema plant.Reading: machine: missing \(string, no default\)$/),
      expect.stringMatching(/entry \d+-\d+ is 2\d\d\d bytes, over the limit of 1024 bytes$/),
      expect.stringMatching(/cannot be decoded with schema plant.Reading: no field data \(fields: payload\)$/),
    ]);
    expect(dead[1]).toMatchObject({ data: JSON.stringify({ id: 'three', machine: 'm', value: 1 }), stream, group: 'scoring' });
    expect(dead[4]!.data).toBe('');
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="undecodable"[^}]*\} 2/);
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="invalid"[^}]*\} 2/);
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="too_large"[^}]*\} 1/);
  });

  it('reads Avro records, and starts a new group at the end of the stream with start-from = latest', async () => {
    const stream = streamKey('avro');
    await append(stream, [Reading.encode(reading(1))]);
    const { log, text } = capturedLog();
    const harness = await startStreamlet(redisStreamIngress({ schema: Reading }), {
      log,
      config: { stream, group: 'late', consumer: 'w', format: 'avro', 'start-from': 'latest' },
    });
    await harness.until(() => text().includes('created consumer group'));
    await append(stream, [Reading.encode(reading(2)), Reading.encode(reading(3))]);
    await harness.until(() => harness.outputs('out').length === 2);
    await harness.stop();
    expect(harness.outputs('out')).toEqual([reading(2), reading(3)]);
  });

  it('waits for a Redis that is down at start, logging why, then reads everything', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 }, { startClosed: true });
    const stream = streamKey('down');
    await append(
      stream,
      readings(0, 200).map((r) => JSON.stringify(r)),
    );
    const { log, text } = capturedLog();
    const harness = await startStreamlet(redisStreamIngress({ schema: Reading }), {
      log,
      config: { url: `redis://${proxy.address}`, stream, group: 'g', consumer: 'w' },
    });
    try {
      await harness.until(() => text().includes(`cannot connect to Redis redis://${proxy.address}; retrying`));
      expect(text()).toContain('ECONNREFUSED');
      await proxy.reopen();
      await harness.until(() => harness.outputs('out').length === 200, 20_000);
      expect(ids(harness)).toEqual(range(200));
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('reconnects after Redis goes away mid-run and loses nothing it acknowledged', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 });
    const stream = streamKey('lost');
    const { log, text } = capturedLog();
    const harness = await startStreamlet(redisStreamIngress({ schema: Reading }), {
      log,
      config: { url: `redis://${proxy.address}`, stream, group: 'g', consumer: 'w' },
    });
    try {
      await append(
        stream,
        readings(0, 100).map((r) => JSON.stringify(r)),
      );
      await harness.until(() => harness.outputs('out').length === 100);
      await proxy.close();
      await append(
        stream,
        readings(100, 300).map((r) => JSON.stringify(r)),
      );
      await harness.until(() => text().includes('lost the connection to Redis'));
      await harness.until(() => text().includes('cannot connect to Redis'));
      await proxy.reopen();
      await harness.until(() => distinct(ids(harness)).length === 300, 20_000);
      expect(distinct(ids(harness))).toEqual(range(300));
      // Acknowledged right after the runtime took them.
      await eventually(async () => (await pendingCount(stream, 'g')) === 0);
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('stops with a message naming a wrong configuration', async () => {
    const ingress = redisStreamIngress({ schema: Reading });
    const start = (config: Record<string, unknown>) => startStreamlet(ingress, { name: 'sensors', config: { consumer: 'w', ...config } });
    const notStream = streamKey('string');
    await redis.set(notStream, 'hello');
    expect(await failureOf(await start({ stream: notStream }))).toBe(
      `streamlet sensors failed: sensors.stream: key ${notStream} holds something other than a stream: WRONGTYPE Operation against a key holding the wrong kind of value`,
    );
    expect(await failureOf(await start({ stream: 's', url: 'http://127.0.0.1:6379' }))).toBe(
      'streamlet sensors failed: sensors.url: http: is not a Redis URL: expected redis://host:port or rediss://host:port',
    );
    expect(await failureOf(await start({ stream: 's', url: 'redis://nobody:secret@127.0.0.1:6379' }))).toBe(
      'streamlet sensors failed: sensors.url: Redis redis://127.0.0.1:6379 refused access: WRONGPASS invalid username-password pair or user is disabled.',
    );
    await expect(start({ stream: 's', format: 'xml' })).rejects.toThrow('format expected one of json, avro, got "xml"');
    await expect(start({})).rejects.toThrow('stream is required');
    await expect(start({ stream: 's', 'claim-idle': 'soon' })).rejects.toThrow('claim-idle expected a duration');
  });
});

function pairs(fields: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) out.push([fields[i]!, fields[i + 1]!]);
  return out;
}
