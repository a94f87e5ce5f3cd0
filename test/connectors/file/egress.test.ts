/**
 * The file egress run for real by the testkit: files rolled by size and by time, read back by
 * the file ingress following the same directory (it never sees half a file), a batch committed
 * only once it is on disk, files a crash left half-written cut back and published, a full disk
 * retried without committing, and config it cannot use.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContainerWriter } from '../../../src/connectors/avro-container.js';
import { fileEgress } from '../../../src/connectors/file/egress.js';
import { fileFormatsByName } from '../../../src/connectors/file/formats.js';
import { fileIngress } from '../../../src/connectors/file/ingress.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { capturingLogger, tempDir } from '../../support/recommender.js';
import { idsOf, readings, ReadingSchema, type Reading } from './support.js';

const FileOut = fileEgress({ schema: ReadingSchema });
const FileIn = fileIngress({ schema: ReadingSchema });
const harnesses: StreamletHarness[] = [];
const mounts: string[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
  for (const mount of mounts.splice(0)) execFileSync('umount', [mount]);
});

async function start(config: Record<string, unknown>, log = capturingLogger().log): Promise<StreamletHarness> {
  const h = await startStreamlet(FileOut, { name: 'file-out', config, log });
  harnesses.push(h);
  return h;
}

/** Every record in the published files of `dir`, file by file in name order. */
function readBack(dir: string, format: 'jsonl' | 'csv' | 'avro'): Reading[] {
  return published(dir).flatMap((name) => {
    const bytes = readFileSync(join(dir, name));
    const decoder = fileFormatsByName[format].decoder(ReadingSchema, bytes, true, { file: name, maxUnitSize: bytes.length, csvDelimiter: ',' });
    const units = decoder?.decode(bytes.subarray(decoder.start.offset), decoder.start, true).units ?? [];
    expect(units.flatMap((u) => (u.ok ? [] : [u.error.message]))).toEqual([]);
    return units.flatMap((u) => (u.ok ? [u.value] : []));
  });
}
const published = (dir: string) =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort();
const inProgress = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.inprogress'));

describe('file egress: writing', () => {
  it.each(['jsonl', 'csv', 'avro'] as const)(
    '%s: rolls files by size, names them in write order, and the ingress following the directory reads every record once',
    async (format) => {
      const dir = tempDir();
      const out = await start({ directory: dir, format, 'roll-size': '4KiB' });
      const reader = await startStreamlet(FileIn, {
        name: 'file-in',
        config: { path: dir, format, 'poll-interval': '10ms' },
        volumes: { positions: tempDir() },
      });
      harnesses.push(reader);
      const sent = readings(0, 600);
      for (let i = 0; i < sent.length; i += 50) await out.send('in', sent.slice(i, i + 50));
      await out.until(() => out.committed('in') === sent.length);
      await out.stop();
      expect(inProgress(dir)).toEqual([]);
      const names = published(dir);
      expect(names.length).toBeGreaterThan(3);
      for (const name of names) expect(name).toMatch(new RegExp(`^part-\\d{8}T\\d{9}Z-\\d{6}[0-9a-f]{4}\\.${format}$`));
      expect(readBack(dir, format)).toEqual(sent);
      await reader.until(() => reader.outputs('out').length === sent.length);
      expect(reader.outputs('out')).toEqual(sent);
    },
  );

  it('publishes a file once it has been open for the roll interval, with no new record needed; hides it until then', async () => {
    const dir = tempDir();
    const out = await start({ directory: dir, 'roll-interval': '300ms', 'file-prefix': 'scores' });
    await out.send('in', readings(0, 3));
    await out.until(() => out.committed('in') === 3);
    // Committed means on disk: the records are in the in-progress file already.
    const [hidden] = inProgress(dir);
    expect(hidden).toMatch(/^\.scores-.*\.jsonl\.inprogress$/);
    expect(readFileSync(join(dir, hidden as string), 'utf8').split('\n')).toHaveLength(4);
    expect(published(dir)).toEqual([]);
    await out.until(() => published(dir).length === 1, 5_000);
    expect(inProgress(dir)).toEqual([]);
    expect(idsOf(readBack(dir, 'jsonl'))).toEqual([0, 1, 2]);
  });
});

describe('file egress: crashes and failures', () => {
  it('cuts a file a crash left in progress back to its last whole record and publishes it; removes one without any', async () => {
    const dir = tempDir();
    const encode = (format: 'jsonl' | 'csv', values: Reading[]) => {
      const encoder = fileFormatsByName[format].encoder(ReadingSchema, { csvDelimiter: ',', avroCodec: 'null' });
      return Buffer.concat([encoder.header(), encoder.encode(values)]);
    };
    const lines = encode('jsonl', readings(0, 3));
    writeFileSync(join(dir, '.part-20250101T000000000Z-000001aaaa.jsonl.inprogress'), Buffer.concat([lines, Buffer.from('{"id": 3, "sens')]));
    writeFileSync(join(dir, '.part-20250101T000000000Z-000002aaaa.jsonl.inprogress'), Buffer.from('{"id": 9'));
    const { log, lines: logged } = capturingLogger();
    const out = await start({ directory: dir }, log);
    await out.send('in', readings(10, 2));
    await out.stop();
    expect(published(dir)[0]).toBe('part-20250101T000000000Z-000001aaaa.jsonl');
    expect(readFileSync(join(dir, 'part-20250101T000000000Z-000001aaaa.jsonl')).equals(lines)).toBe(true);
    expect(idsOf(readBack(dir, 'jsonl'))).toEqual([0, 1, 2, 10, 11]);
    expect(logged().find((l) => l.msg === 'published a file a crash left in progress (its last batch may be delivered again)')).toMatchObject({
      level: 'warn',
      records: 3,
      cutBytes: 15,
    });

    // The same for CSV (a row cut inside quotes) and Avro (a block cut short).
    const csvDir = tempDir();
    const rows = encode('csv', readings(0, 7));
    writeFileSync(join(csvDir, '.part-1.csv.inprogress'), Buffer.concat([rows, Buffer.from('7,"s,\n')]));
    const avroDir = tempDir();
    const writer = new ContainerWriter(ReadingSchema, 'null');
    const blocks = Buffer.concat([writer.header(), writer.block(readings(0, 2)), writer.block(readings(2, 2))]);
    writeFileSync(join(avroDir, '.part-1.avro.inprogress'), Buffer.concat([blocks, writer.block(readings(4, 2)).subarray(0, 20)]));
    for (const [where, format] of [[csvDir, 'csv'] as const, [avroDir, 'avro'] as const]) {
      const h = await start({ directory: where, format });
      await h.stop();
      expect(published(where)).toEqual([`part-1.${format}`]);
    }
    expect(readFileSync(join(csvDir, 'part-1.csv')).equals(rows)).toBe(true);
    expect(idsOf(readBack(avroDir, 'avro'))).toEqual([0, 1, 2, 3]);
  });

  it('retries a full disk with backoff, commits nothing meanwhile, and writes every record once there is room again', async (context) => {
    const dir = tempDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      context.skip(`mounting a small tmpfs needs root: ${(err as Error).message}`);
    }
    mounts.push(dir);
    const { log, lines } = capturingLogger();
    const out = await start({ directory: dir, 'roll-size': '4KiB' }, log);
    const sent = readings(0, 400);
    await out.send('in', sent.slice(0, 20));
    await out.until(() => out.committed('in') === 20);
    // Fill the disk.
    const filler = join(dir, '.filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k', 'count=64'], { stdio: 'pipe' });
    } catch {
      // dd stops with "No space left on device": the disk is full, as wanted.
    }
    await out.send('in', sent.slice(20));
    await out.until(() => lines().some((l) => l.msg === 'cannot write to the directory; retrying (nothing committed)'));
    const failure = lines().find((l) => l.msg === 'cannot write to the directory; retrying (nothing committed)');
    expect(failure).toMatchObject({ level: 'warn', directory: dir, error: expect.stringMatching(/ENOSPC/) });
    expect(out.committed('in')).toBe(20); // the batch that does not fit is not committed
    rmSync(filler);
    await out.until(() => out.committed('in') === sent.length, 20_000);
    await out.stop();
    expect(idsOf(readBack(dir, 'jsonl'))).toEqual(idsOf(sent));
  });
});

describe('file egress: config', () => {
  it('names the key and what is wrong', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const h = await startStreamlet(FileOut, { name: 'file-out', config: { directory: join(file, 'sub') } });
    const outcome = await h.app.finished;
    expect(!outcome.ok && outcome.error.message).toMatch(new RegExp(`^streamlet file-out failed: file-out\\.directory: cannot create ${file}/sub: ENOTDIR`));
    await h.stop();
    await expect(startStreamlet(FileOut, { name: 'file-out', config: { directory: '.', format: 'parquet' } })).rejects.toThrow(
      'config of file-out: format expected one of jsonl, csv, avro, got "parquet"',
    );
    await expect(startStreamlet(FileOut, { name: 'file-out', config: { directory: '.', 'roll-size': '0' } })).rejects.toThrow(
      /roll-size must be at least 1 bytes, got 0 bytes/,
    );
    await expect(startStreamlet(FileOut, { name: 'file-out', config: { directory: '.', 'file-prefix': '../up' } })).rejects.toThrow(
      /file-prefix "..\/up" does not match/,
    );
    await expect(startStreamlet(FileOut, { name: 'file-out', config: { directory: '.', 'avro-codec': 'snappy' } })).rejects.toThrow(
      /avro-codec expected one of null, deflate, got "snappy"/,
    );
  });
});
