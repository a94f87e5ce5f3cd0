/**
 * PostgreSQL egress throughput: records through the streamlet (testkit → inlet → upsert batches
 * of 1000 → commit) beside pg itself upserting the same rows in the same batches, each into its
 * own new table, in the same run.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresEgress } from '../../src/connectors/postgres/egress.js';
import { defineSchema, type Schema } from '../../src/core/schema.js';
import { startStreamlet } from '../../src/testkit.js';
import type { ConnectorBenchmark } from './measurement.js';

const Score = defineSchema({
  type: 'record',
  name: 'Score',
  namespace: 'bench',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'machine', type: 'string' },
    { name: 'score', type: 'double' },
    { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['LOW', 'HIGH'] } },
    { name: 'at', type: 'long' },
  ],
} as const);
type Score = typeof Score extends Schema<infer T> ? T : never;

const URL = process.env.SLUICE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BATCH = 1000;

const scores = (n: number): Score[] =>
  Array.from({ length: n }, (_, id) => ({
    id,
    machine: `machine-${id % 100}`,
    score: (id % 1000) / 1000,
    level: id % 10 === 0 ? 'HIGH' : 'LOW',
    at: 1_700_000_000_000 + id,
  }));

export const postgresBenchmark: ConnectorBenchmark = async ({ records }) => {
  const rows = scores(records);
  const suffix = randomBytes(4).toString('hex');
  const rawTable = `bench_raw_${suffix}`;
  const connectorTable = `bench_egress_${suffix}`;
  const db = new pg.Client({ connectionString: URL });
  await db.connect();
  try {
    for (const table of [rawTable, connectorTable]) {
      await db.query(
        `create table "${table}" (id bigint primary key, machine text not null, score double precision not null, level text not null, at bigint not null)`,
      );
    }
    const raw = await timed(async () => {
      const sql =
        `insert into "${rawTable}" (id, machine, score, level, at) select * from unnest($1::bigint[], $2::text[], $3::float8[], $4::text[], $5::bigint[]) ` +
        'on conflict (id) do update set machine = excluded.machine, score = excluded.score, level = excluded.level, at = excluded.at';
      for (let i = 0; i < rows.length; i += BATCH) {
        const batch = rows.slice(i, i + BATCH);
        await db.query({
          name: 'bench-raw',
          text: sql,
          values: [batch.map((r) => r.id), batch.map((r) => r.machine), batch.map((r) => r.score), batch.map((r) => r.level), batch.map((r) => r.at)],
        });
      }
    });
    const harness = await startStreamlet(postgresEgress({ schema: Score }), {
      config: { url: URL, table: connectorTable, key: 'id', 'batch-size': BATCH },
      topicCapacity: 4 * BATCH,
    });
    const connector = await timed(async () => {
      await harness.send('in', rows);
      await harness.until(() => harness.committed('in') === rows.length, 120_000);
    });
    await harness.stop();
    for (const table of [rawTable, connectorTable]) {
      const count = await db.query<{ n: string }>(`select count(*) as n from "${table}"`);
      if (Number(count.rows[0]!.n) !== records) throw new Error(`${table} holds ${count.rows[0]!.n} rows, expected ${records}`);
    }
    return [
      {
        id: 'postgres-egress',
        label: `PostgreSQL egress, upsert on key, batches of ${BATCH}`,
        records,
        connector: records / connector,
        raw: records / raw,
        rawLabel: `pg: one unnest upsert per ${BATCH} rows, awaited`,
      },
    ];
  } finally {
    for (const table of [rawTable, connectorTable]) await db.query(`drop table if exists "${table}"`);
    await db.end();
  }
};

/** Seconds `work` took (the connector benchmarks share it). */
export async function timed(work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}
