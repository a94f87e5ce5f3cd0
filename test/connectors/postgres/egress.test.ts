import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresEgress } from '../../../src/connectors/postgres/egress.js';
import { createLogger } from '../../../src/core/log.js';
import { defineSchema, type Schema } from '../../../src/core/schema.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';

const Alert = defineSchema({
  type: 'record',
  name: 'Alert',
  namespace: 'plant',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'machine', type: 'string' },
    { name: 'score', type: 'double' },
    { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['LOW', 'HIGH'] } },
    { name: 'readings', type: { type: 'array', items: 'double' } },
    { name: 'detail', type: { type: 'record', name: 'Detail', fields: [{ name: 'model', type: 'string' }] } },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'raw', type: 'bytes' },
  ],
} as const);
type Alert = typeof Alert extends Schema<infer T> ? T : never;

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const suffix = randomBytes(4).toString('hex');
const tables: string[] = [];
const table = (name: string) => {
  const full = `${name}_${suffix}`;
  tables.push(full);
  return full;
};
let db: pg.Client;

beforeAll(async () => {
  db = new pg.Client({ connectionString: URL });
  await db.connect();
});

afterAll(async () => {
  for (const t of tables) await db.query(`drop table if exists "${t}"`);
  await db.end();
});

const alert = (id: number, score = id / 10): Alert => ({
  id,
  machine: `m-${id % 7}`,
  score,
  level: score > 5 ? 'HIGH' : 'LOW',
  readings: [score, score * 2],
  detail: { model: 'anomaly-v1' },
  note: id % 2 === 0 ? `even ${id}` : null,
  raw: Buffer.from([id % 256, 1]),
});
const alerts = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => alert(from + i));

function capturedLog() {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: 'info', write: (line) => lines.push(line) }), text: () => lines.join('') };
}

async function rowCount(name: string): Promise<number> {
  const result = await db.query<{ n: string }>(`select count(*) as n from "${name}"`);
  return Number(result.rows[0]!.n);
}

async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs until the streamlet fails by itself and returns why. */
async function failureOf(harness: StreamletHarness): Promise<string> {
  const outcome = await harness.app.finished;
  await harness.stop();
  if (outcome.ok) throw new Error('the streamlet did not fail');
  return outcome.error.message;
}

describe('PostgreSQL egress', () => {
  it('creates the table from the schema and writes every type as mapped', async () => {
    const name = table('alerts_types');
    const egress = postgresEgress({ schema: Alert, columns: { machine: 'machine_id' } });
    const harness = await startStreamlet(egress, { config: { url: URL, table: name, key: 'id', 'create-table': true } });
    await harness.send('in', [alert(1), alert(2, 9.5)]);
    await harness.until(() => harness.committed('in') === 2);
    await harness.stop();

    const types = await db.query<{ column_name: string; data_type: string; is_nullable: string }>(
      'select column_name, data_type, is_nullable from information_schema.columns where table_name = $1 order by ordinal_position',
      [name],
    );
    expect(types.rows.map((r) => `${r.column_name} ${r.data_type} ${r.is_nullable}`)).toEqual([
      'id bigint NO',
      'machine_id text NO',
      'score double precision NO',
      'level text NO',
      'readings jsonb NO',
      'detail jsonb NO',
      'note text YES',
      'raw bytea NO',
    ]);
    const rows = await db.query(`select * from "${name}" order by id`);
    expect(rows.rows).toEqual([
      { id: '1', machine_id: 'm-1', score: 0.1, level: 'LOW', readings: [0.1, 0.2], detail: { model: 'anomaly-v1' }, note: null, raw: Buffer.from([1, 1]) },
      { id: '2', machine_id: 'm-2', score: 9.5, level: 'HIGH', readings: [9.5, 19], detail: { model: 'anomaly-v1' }, note: 'even 2', raw: Buffer.from([2, 1]) },
    ]);
  });

  it('upserts on the key across a restart: records delivered again change nothing (effectively-once)', async () => {
    const name = table('alerts_restart');
    const egress = postgresEgress({ schema: Alert });
    const config = { url: URL, table: name, key: 'id', 'create-table': true, 'batch-size': 100 };
    const first = await startStreamlet(egress, { config });
    await first.send('in', alerts(0, 600));
    await first.until(() => first.committed('in') === 600);
    await first.stop();

    // After the restart, the last 200 are delivered again (as after a crash before their commit), with new scores.
    const second = await startStreamlet(egress, { config });
    const again = alerts(400, 600).map((a) => ({ ...a, score: a.score + 1000 }));
    await second.send('in', [...again, ...alerts(600, 1000)]);
    await second.until(() => second.committed('in') === 600);
    await second.stop();

    expect(await rowCount(name)).toBe(1000);
    const ids = await db.query<{ id: string; score: number }>(`select id, score from "${name}" order by id`);
    expect(ids.rows.map((r) => Number(r.id))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(ids.rows[450]!.score).toBe(1045);
    expect(ids.rows[350]!.score).toBe(35);
  });

  it('keeps the last record of a key within one batch, or the first with on-conflict = nothing', async () => {
    const updated = table('alerts_last');
    const kept = table('alerts_first');
    const egress = postgresEgress({ schema: Alert });
    for (const [name, onConflict] of [
      [updated, 'update'],
      [kept, 'nothing'],
    ] as const) {
      const harness = await startStreamlet(egress, { config: { url: URL, table: name, key: 'id', 'create-table': true, 'on-conflict': onConflict } });
      await harness.send('in', [alert(1, 1), alert(2, 2), alert(1, 3), alert(1, 4)]);
      await harness.until(() => harness.committed('in') === 4);
      await harness.stop();
    }
    expect((await db.query(`select id, score from "${updated}" order by id`)).rows).toEqual([
      { id: '1', score: 4 },
      { id: '2', score: 2 },
    ]);
    expect((await db.query(`select id, score from "${kept}" order by id`)).rows).toEqual([
      { id: '1', score: 1 },
      { id: '2', score: 2 },
    ]);
  });

  it('reports and counts a row the database refuses, and writes the rest of its batch', async () => {
    const name = table('alerts_checked');
    await db.query(
      `create table "${name}" (id bigint primary key, machine text not null, score double precision check (score >= 0), level text, readings jsonb, detail jsonb, note text, raw bytea)`,
    );
    const { log, text } = capturedLog();
    const harness = await startStreamlet(postgresEgress({ schema: Alert }), { log, name: 'alerts-db', config: { url: URL, table: name, key: 'id' } });
    await harness.send('in', [alert(1), alert(2, -5), alert(3)]);
    await harness.until(() => harness.committed('in') === 3);
    await harness.send('in', [alert(4)]);
    await harness.until(() => harness.committed('in') === 4);
    const metrics = (await harness.app.metrics.exposition()).body;
    await harness.stop();

    expect((await db.query(`select id from "${name}" order by id`)).rows.map((r) => r.id)).toEqual(['1', '3', '4']);
    expect(text()).toContain(`rejected a message: table ${name} refused a record: new row for relation \\"${name}\\" violates check constraint`);
    expect(text()).toContain('"reason":"refused"');
    expect(text()).toContain('SQLSTATE 23514');
    expect(metrics).toMatch(/sluice_connector_rejected_total\{[^}]*reason="refused"[^}]*\} 1/);
  });

  it('waits for a database that is down at start, logging why, and loses nothing', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 }, { startClosed: true });
    const name = table('alerts_down');
    const { log, text } = capturedLog();
    const harness = await startStreamlet(postgresEgress({ schema: Alert }), {
      log,
      config: { url: `postgres://postgres@${proxy.address}/test`, table: name, key: 'id', 'create-table': true },
    });
    try {
      await harness.send('in', alerts(0, 300));
      await harness.until(() => text().includes('cannot connect to PostgreSQL postgres@'));
      expect(harness.committed('in')).toBe(0);
      await proxy.reopen();
      await harness.until(() => harness.committed('in') === 300, 20_000);
      expect(await rowCount(name)).toBe(300);
      expect(text()).toContain('ECONNREFUSED');
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('writes a batch again after the connection is lost mid-run, without duplicates', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    const name = table('alerts_lost');
    const { log, text } = capturedLog();
    const harness = await startStreamlet(postgresEgress({ schema: Alert }), {
      log,
      config: { url: `postgres://postgres@${proxy.address}/test`, table: name, key: 'id', 'create-table': true },
    });
    try {
      await harness.send('in', alerts(0, 200));
      await harness.until(() => harness.committed('in') === 200);
      await proxy.close();
      await harness.send('in', alerts(200, 500));
      await harness.until(() => text().includes('cannot connect to PostgreSQL'));
      expect(harness.committed('in')).toBe(200);
      await proxy.reopen();
      await harness.until(() => harness.committed('in') === 500, 20_000);
      expect(await rowCount(name)).toBe(500);
      expect(text()).toMatch(/lost the connection to PostgreSQL|writing to PostgreSQL .* failed/);
    } finally {
      await harness.stop();
      await proxy.close();
    }
  });

  it('inserts without a key: at-least-once, a record delivered again is a second row', async () => {
    const name = table('alerts_plain');
    const harness = await startStreamlet(postgresEgress({ schema: Alert }), { config: { url: URL, table: name, 'create-table': true } });
    await harness.send('in', [alert(1), alert(1)]);
    await harness.until(() => harness.committed('in') === 2);
    await harness.stop();
    expect(await rowCount(name)).toBe(2);
  });

  it('stops at start with a message naming what is wrong in the configuration', async () => {
    const egress = postgresEgress({ schema: Alert });
    const start = (config: Record<string, unknown>) => startStreamlet(egress, { name: 'alerts-db', config: { url: URL, ...config } });

    const missing = table('alerts_missing');
    expect(await failureOf(await start({ table: missing }))).toBe(
      `streamlet alerts-db failed: alerts-db.table: table ${missing} does not exist (set create-table = true to create it from the schema)`,
    );

    const narrow = table('alerts_narrow');
    await db.query(`create table "${narrow}" (id bigint, machine text, score double precision, level text, extra text not null)`);
    expect(await failureOf(await start({ table: narrow, key: 'id' }))).toBe(
      `streamlet alerts-db failed: alerts-db.table: table ${narrow} does not fit the schema: no column readings for field readings; no column detail for field detail; ` +
        'no column note for field note; no column raw for field raw; column extra is NOT NULL without a default, and no field writes it; ' +
        'no primary key or unique index on exactly (id), which an upsert on that key needs ' +
        '(table columns: id bigint, machine text, score double precision, level text, extra text)',
    );

    expect(await failureOf(await start({ table: table('alerts_key'), key: 'id, serial', 'create-table': true }))).toBe(
      'streamlet alerts-db failed: alerts-db.key: key column(s) serial are not written from the schema (columns: id, machine, score, level, readings, detail, note, raw)',
    );
    expect(await failureOf(await start({ url: 'http://127.0.0.1:5432/test', table: 't' }))).toBe(
      'streamlet alerts-db failed: alerts-db.url: http: is not a PostgreSQL URL: expected postgres://user@host:port/database',
    );
    expect(await failureOf(await start({ url: 'not a url', table: 't' }))).toBe(
      'streamlet alerts-db failed: alerts-db.url: not a URL: expected postgres://user@host:port/database',
    );
    expect(await failureOf(await start({ url: 'postgres://nobody@127.0.0.1:5432/test', table: 't' }))).toBe(
      'streamlet alerts-db failed: alerts-db.url: cannot connect to PostgreSQL nobody@127.0.0.1:5432/test: role "nobody" does not exist',
    );
    expect(await failureOf(await start({ url: 'postgres://postgres@127.0.0.1:5432/no_such_db', table: 't' }))).toBe(
      'streamlet alerts-db failed: alerts-db.url: cannot connect to PostgreSQL postgres@127.0.0.1:5432/no_such_db: database "no_such_db" does not exist',
    );
    expect(await failureOf(await start({ url: 'env:SLUICE_TEST_UNSET_PG_URL', table: 't' }))).toBe(
      'streamlet alerts-db failed: alerts-db.url: environment variable SLUICE_TEST_UNSET_PG_URL is not set',
    );
    await expect(start({ table: 'bad name' })).rejects.toThrow('table "bad name" does not match');
    await expect(start({ table: 't', 'on-conflict': 'merge' })).rejects.toThrow('on-conflict expected one of update, nothing, got "merge"');
    expect(() => postgresEgress({ schema: Alert, columns: { machine: 'machine id' } })).toThrow(
      'column mapping of field machine: "machine id" is not a column name',
    );
    expect(() => postgresEgress({ schema: Alert, columns: { nope: 'x' } as never })).toThrow(
      'column mapping names field nope, which plant.Alert does not have',
    );
  });
});
