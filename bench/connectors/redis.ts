/**
 * Redis Streams throughput, each beside ioredis doing the same transfer with the same guarantee
 * in the same run: the egress (testkit → inlet → pipelined XADD per batch → commit) against
 * JSON.stringify + pipelined XADD batches awaited one after the other; the ingress (XREADGROUP →
 * decode → emit → XACK) against an XREADGROUP + JSON.parse + XACK loop over the same entries.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisStreamEgress } from '../../src/connectors/redis/egress.js';
import { redisStreamIngress } from '../../src/connectors/redis/ingress.js';
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

const URL = process.env.SLUICE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BATCH = 1000;

const readings = (n: number): Reading[] =>
  Array.from({ length: n }, (_, id) => ({ id, machine: `machine-${id % 100}`, values: [id / 3, id / 7, id / 11, 0.5] }));

export const redisBenchmark: ConnectorBenchmark = async ({ records }) => {
  const values = readings(records);
  const suffix = randomBytes(4).toString('hex');
  const keys = { raw: `bench:raw:${suffix}`, egress: `bench:egress:${suffix}` };
  const redis = new Redis(URL);
  try {
    const rawAppend = await timed(async () => {
      for (let i = 0; i < values.length; i += BATCH) {
        const pipeline = redis.pipeline();
        for (const value of values.slice(i, i + BATCH)) pipeline.xadd(keys.raw, '*', 'data', JSON.stringify(value));
        const replies = (await pipeline.exec()) ?? [];
        if (replies.some(([err]) => err)) throw new Error('XADD failed');
      }
    });
    const egress = await startStreamlet(redisStreamEgress({ schema: Reading }), {
      config: { url: URL, stream: keys.egress, 'batch-size': BATCH },
      topicCapacity: 4 * BATCH,
    });
    const connectorAppend = await timed(async () => {
      await egress.send('in', values);
      await egress.until(() => egress.committed('in') === records, 120_000);
    });
    await egress.stop();

    // Both read the stream the raw client wrote, each with its own group.
    const rawRead = await timed(async () => {
      await redis.xgroup('CREATE', keys.raw, 'raw', '0');
      for (let read = 0; read < records;) {
        const reply = (await redis.xreadgroupBuffer('GROUP', 'raw', 'bench', 'COUNT', BATCH, 'STREAMS', keys.raw, '>')) as
          [Buffer, [Buffer, Buffer[]][]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        for (const [, fields] of entries) JSON.parse(fields[1]!.toString());
        await redis.xack(keys.raw, 'raw', ...entries.map(([id]) => id));
        read += entries.length;
      }
    });
    let ingress: StreamletHarness | undefined;
    const connectorRead = await timed(async () => {
      const harness = await startStreamlet(redisStreamIngress({ schema: Reading }), {
        config: { url: URL, stream: keys.raw, group: 'connector', consumer: 'bench', 'batch-size': BATCH, 'claim-idle': 0 },
        topicCapacity: 4 * BATCH,
      });
      ingress = harness;
      await harness.until(() => harness.outputs('out').length === records, 120_000);
    });
    await ingress?.stop();
    for (const key of [keys.raw, keys.egress]) {
      const length = await redis.xlen(key);
      if (length !== records) throw new Error(`${key} holds ${length} entries, expected ${records}`);
    }
    return [
      {
        id: 'redis-egress',
        label: `Redis Streams egress, JSON, pipelines of ${BATCH}`,
        records,
        connector: records / connectorAppend,
        raw: records / rawAppend,
        rawLabel: `ioredis: JSON.stringify + pipelined XADD, ${BATCH} per await`,
      },
      {
        id: 'redis-ingress',
        label: `Redis Streams ingress, JSON, consumer group, reads of ${BATCH}`,
        records,
        connector: records / connectorRead,
        raw: records / rawRead,
        rawLabel: `ioredis: XREADGROUP ${BATCH}, JSON.parse, XACK loop`,
      },
    ];
  } finally {
    await redis.del(keys.raw, keys.egress);
    redis.disconnect();
  }
};
