import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStreamEgress } from '../../../src/connectors/redis/egress.js';
import { createLogger } from '../../../src/core/log.js';
import { defineSchema, type Schema } from '../../../src/core/schema.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';

const Score = defineSchema({
  type: 'record',
  name: 'Score',
  namespace: 'plant',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'score', type: 'double' },
    { name: 'raw', type: 'bytes', default: '' },
  ],
} as const);
type Score = typeof Score extends Schema<infer T> ? T : never;

const suffix = randomBytes(4).toString('hex');
const keys: string[] = [];
const streamKey = (name: string) => {
  const key = `sluice-test:${name}:${suffix}`;
  keys.push(key);
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

const score = (id: number): Score => ({ id, score: id / 8, raw: Buffer.from([id % 256]) });
const scores = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => score(from + i));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The records in the stream, decoded as JSON, in stream order. */
async function jsonEntries(stream: string): Promise<{ id: number; score: number; raw: string }[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.map(([, fields]) => {
    expect(fields[0]).toBe('data');
    return JSON.parse(fields[1]!) as { id: number; score: number; raw: string };
  });
}

function capturedLog() {
  const lines: string[] = [];
  return { log: createLogger({ level: 'info', write: (line) => lines.push(line) }), text: () => lines.join('') };
}

async function failureOf(harness: StreamletHarness): Promise<string> {
  const outcome = await harness.app.finished;
  await harness.stop();
  if (outcome.ok) throw new Error('the streamlet did not fail');
  return outcome.error.message;
}

describe('Redis Streams egress', () => {
  it('appends every record across a restart, in order, as JSON in the data field', async () => {
    const stream = streamKey('out');
    const egress = redisStreamEgress({ schema: Score });
    const first = await startStreamlet(egress, { config: { stream, 'batch-size': 64 } });
    await first.send('in', scores(0, 500));
    await first.until(() => first.committed('in') === 500);
    await first.stop();
    const second = await startStreamlet(egress, { config: { stream, 'batch-size': 64 } });
    await second.send('in', scores(500, 800));
    await second.until(() => second.committed('in') === 300);
    await second.stop();

    const entries = await jsonEntries(stream);
    expect(entries.map((e) => e.id)).toEqual(range(800));
    expect(entries[9]).toEqual({ id: 9, score: 9 / 8, raw: Buffer.from([9]).toString('base64') });
  });

  it('writes Avro records and trims the stream to about max-length', async () => {
    const stream = streamKey('avro');
    const harness = await startStreamlet(redisStreamEgress({ schema: Score }), { config: { stream, format: 'avro', 'max-length': 100, field: 'record' } });
    await harness.send('in', scores(0, 2000));
    await harness.until(() => harness.committed('in') === 2000);
    await harness.stop();
    const entries = await redis.xrangeBuffer(stream, '-', '+');
    // MAXLEN ~ trims whole macro nodes only: about 100 entries are left, never fewer.
    expect(entries.length).toBeGreaterThanOrEqual(100);
    expect(entries.length).toBeLessThan(2000);
    const [, fields] = entries[entries.length - 1]!;
    expect(fields[0]!.toString()).toBe('record');
    expect(Score.decode(fields[1]!, 'test')).toEqual(score(1999));
  });

  it('waits for a Redis that is down at start, logging why, and appends everything once it is up', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 }, { startClosed: true });
    const stream = streamKey('down');
    const { log, text } = capturedLog();
    const harness = await startStreamlet(redisStreamEgress({ schema: Score }), { log, config: { url: `redis://${proxy.address}`, stream } });
    try {
      await harness.send('in', scores(0, 300));
      await harness.until(() => text().includes(`cannot connect to Redis redis://${proxy.address}; retrying`));
      expect(harness.committed('in')).toBe(0);
      await proxy.reopen();
      await harness.until(() => harness.committed('in') === 300, 20_000);
      expect((await jsonEntries(stream)).map((e) => e.id)).toEqual(range(300));
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('appends a batch again after Redis goes away mid-run: nothing lost, duplicates only from the interrupted batch', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 });
    const stream = streamKey('lost');
    const { log, text } = capturedLog();
    const harness = await startStreamlet(redisStreamEgress({ schema: Score }), { log, config: { url: `redis://${proxy.address}`, stream, 'batch-size': 100 } });
    try {
      await harness.send('in', scores(0, 200));
      await harness.until(() => harness.committed('in') === 200);
      await proxy.close();
      await harness.send('in', scores(200, 600));
      await harness.until(() => text().includes('cannot connect to Redis'));
      const committedWhileDown = harness.committed('in');
      await proxy.reopen();
      await harness.until(() => harness.committed('in') === 600, 20_000);
      const written = (await jsonEntries(stream)).map((e) => e.id);
      expect([...new Set(written)].sort((a, b) => a - b)).toEqual(range(600));
      // Only a batch in flight when the connection dropped may have been appended twice.
      expect(written.length - 600).toBeLessThanOrEqual(100);
      expect(committedWhileDown).toBeLessThan(600);
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('stops with a message naming a wrong configuration', async () => {
    const egress = redisStreamEgress({ schema: Score });
    const start = (config: Record<string, unknown>) => startStreamlet(egress, { name: 'scores-out', config });
    const notStream = streamKey('list');
    await redis.rpush(notStream, 'a');
    expect(await failureOf(await start({ stream: notStream }))).toBe(
      `streamlet scores-out failed: scores-out.stream: key ${notStream} holds something other than a stream: a list`,
    );
    expect(await failureOf(await start({ stream: 's', url: 'not a url' }))).toBe(
      'streamlet scores-out failed: scores-out.url: not a URL: expected redis://host:port',
    );
    expect(await failureOf(await start({ stream: 's', url: 'redis://127.0.0.1:6379', password: 'env:SLUICE_TEST_UNSET_REDIS_PASSWORD' }))).toBe(
      'streamlet scores-out failed: scores-out.password: environment variable SLUICE_TEST_UNSET_REDIS_PASSWORD is not set',
    );
    await expect(start({ stream: 's', 'max-length': -1 })).rejects.toThrow('max-length must be at least 0, got -1');
  });
});
