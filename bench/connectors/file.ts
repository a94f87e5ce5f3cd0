/**
 * File throughput on the local disk, each beside Node's own fs (or avsc's container streams)
 * doing the same transfer with the same guarantee in the same run:
 * - ingress (read → decode → schema check → emit → read position saved durably per batch of
 *   512) against reading the same file with fs and parsing every record, the position file
 *   written the same way per 512 records;
 * - egress (inlet → encode → append → fsync per batch → commit) against appending the same
 *   encoded records with fs, an fsync per 512.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import avro from 'avsc';
import { parse } from 'csv-parse/sync';
import { writeFileDurably } from '../../src/util/durable.js';
import { fileEgress } from '../../src/connectors/file/egress.js';
import type { FileFormatName } from '../../src/connectors/file/format.js';
import { fileFormatsByName } from '../../src/connectors/file/formats.js';
import { fileIngress } from '../../src/connectors/file/ingress.js';
import { createLogger } from '../../src/core/log.js';
import { defineSchema, type Schema } from '../../src/core/schema.js';
import { startStreamlet } from '../../src/testkit.js';
import type { ConnectorBenchmark, ConnectorMeasurement } from './measurement.js';
import { timed } from './postgres.js';

const Reading = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'bench',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'machine', type: 'string' },
    { name: 'level', type: 'double' },
    { name: 'ok', type: 'boolean' },
  ],
} as const);
type Reading = typeof Reading extends Schema<infer T> ? T : never;

const BATCH = 512;
const readings = (n: number): Reading[] => Array.from({ length: n }, (_, id) => ({ id, machine: `machine-${id % 100}`, level: id / 7, ok: id % 3 > 0 }));
const silent = createLogger({ level: 'silent' });
const encoded = (format: FileFormatName, values: readonly Reading[]) => {
  const encoder = fileFormatsByName[format].encoder(Reading, { csvDelimiter: ',', avroCodec: 'null' });
  return Buffer.concat([encoder.header(), encoder.encode(values)]);
};

/** The records of a file as the fastest plain reader gets them: no schema check, no positions. */
async function parseRaw(format: FileFormatName, file: string): Promise<unknown[]> {
  if (format === 'avro') {
    const values: unknown[] = [];
    const decoder = avro.createFileDecoder(file).on('data', (v: unknown) => values.push(v));
    await finished(decoder);
    return values;
  }
  const text = await readFile(file);
  if (format === 'csv') return parse(text, { columns: true, cast: true }) as unknown[];
  return text
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

async function ingressRow(format: FileFormatName, records: number, dir: string): Promise<ConnectorMeasurement> {
  const file = join(dir, `in.${format}`);
  writeFileSync(file, encoded(format, readings(records)));
  const positions = join(dir, `raw-positions-${format}.json`);
  const raw = await timed(async () => {
    const values = await parseRaw(format, file);
    for (let i = BATCH; i < values.length + BATCH; i += BATCH) await writeFileDurably(positions, JSON.stringify({ file, records: Math.min(i, values.length) }));
    if (values.length !== records) throw new Error(`raw ${format} read ${values.length} records, expected ${records}`);
  });
  const volume = mkdtempSync(join(dir, 'positions-'));
  const connector = await timed(async () => {
    const harness = await startStreamlet(fileIngress({ schema: Reading }), {
      name: 'file-in',
      config: { path: file, format, follow: false, 'batch-size': BATCH },
      volumes: { positions: volume },
      log: silent,
      topicCapacity: 8192,
    });
    await harness.app.finished;
    await harness.stop();
    if (harness.outputs('out').length !== records) throw new Error(`file ingress read ${harness.outputs('out').length} records, expected ${records}`);
  });
  return {
    id: `file-ingress-${format}`,
    label: `file ingress, ${format}, positions saved per ${BATCH}`,
    records,
    connector: records / connector,
    raw: records / raw,
    rawLabel: `${format === 'avro' ? 'avsc createFileDecoder' : format === 'csv' ? 'fs.readFile + csv-parse (cast)' : 'fs.readFile + JSON.parse per line'}, positions saved per ${BATCH}`,
  };
}

async function egressRow(format: FileFormatName, records: number, dir: string): Promise<ConnectorMeasurement> {
  const values = readings(records);
  const encoder = fileFormatsByName[format].encoder(Reading, { csvDelimiter: ',', avroCodec: 'null' });
  const rawFile = await open(join(dir, `raw-out.${format}`), 'w');
  const raw = await timed(async () => {
    let at = 0;
    for (let i = 0; i < values.length; i += BATCH) {
      const bytes = Buffer.concat([i === 0 ? encoder.header() : Buffer.alloc(0), encoder.encode(values.slice(i, i + BATCH))]);
      await rawFile.write(bytes, 0, bytes.length, at);
      await rawFile.sync();
      at += bytes.length;
    }
  });
  await rawFile.close();
  const out = mkdtempSync(join(dir, `out-${format}-`));
  const harness = await startStreamlet(fileEgress({ schema: Reading }), {
    name: 'file-out',
    config: { directory: out, format },
    log: silent,
    topicCapacity: 8192,
  });
  const connector = await timed(async () => {
    await harness.send('in', values);
    await harness.until(() => harness.committed('in') === records, 120_000);
  });
  await harness.stop();
  return {
    id: `file-egress-${format}`,
    label: `file egress, ${format}, fsync per batch`,
    records,
    connector: records / connector,
    raw: records / raw,
    rawLabel: `fs write of the same encoding, fsync per ${BATCH}`,
  };
}

export const fileBenchmark: ConnectorBenchmark = async ({ records }) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-file-'));
  try {
    const rows: ConnectorMeasurement[] = [];
    for (const format of ['jsonl', 'csv', 'avro'] as const) rows.push(await ingressRow(format, records, dir));
    for (const format of ['jsonl', 'avro'] as const) rows.push(await egressRow(format, records, dir));
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
