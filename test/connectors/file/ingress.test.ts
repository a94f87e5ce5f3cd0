/**
 * The file ingress run for real by the testkit on real files: a file read once, a directory
 * followed as files are added and grow, restarts that neither repeat nor skip, malformed
 * records reported with file:line and skipped, and config it cannot use.
 */
import { appendFileSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContainerWriter } from '../../../src/connectors/avro-container.js';
import { fileFormatsByName } from '../../../src/connectors/file/formats.js';
import { fileIngress } from '../../../src/connectors/file/ingress.js';
import { POSITIONS_FILE } from '../../../src/connectors/file/read-positions.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { capturingLogger, tempDir } from '../../support/recommender.js';
import { idsOf, metric, readings, ReadingSchema, type Reading } from './support.js';

const FileIn = fileIngress({ schema: ReadingSchema });
const harnesses: StreamletHarness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
});

async function start(config: Record<string, unknown>, positions: string, log = capturingLogger().log): Promise<StreamletHarness> {
  const h = await startStreamlet(FileIn, { name: 'file-in', config: { 'poll-interval': '20ms', ...config }, volumes: { positions }, log });
  harnesses.push(h);
  return h;
}

const encode = (format: 'jsonl' | 'csv' | 'avro', values: readonly Reading[], header = true) => {
  const encoder = fileFormatsByName[format].encoder(ReadingSchema, { csvDelimiter: ',', avroCodec: 'null' });
  return Buffer.concat([header ? encoder.header() : Buffer.alloc(0), encoder.encode(values)]);
};

describe('file ingress: reading', () => {
  it.each(['jsonl', 'csv', 'avro'] as const)('reads a %s file once, then ends (follow = false)', async (format) => {
    const dir = tempDir();
    const file = join(dir, `in.${format}`);
    const sent = readings(0, 1500);
    writeFileSync(file, encode(format, sent));
    const h = await start({ path: file, format, follow: false, 'batch-size': 100 }, tempDir());
    expect((await h.app.finished).ok).toBe(true);
    expect(h.outputs('out')).toEqual(sent);
  });

  it('follows a directory: files added, records appended to the newest, in name order; hidden and unmatched files are left alone', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), encode('jsonl', readings(0, 3)));
    writeFileSync(join(dir, '.b.jsonl.inprogress'), encode('jsonl', readings(900, 3)));
    writeFileSync(join(dir, 'notes.txt'), 'not records\n');
    const h = await start({ path: dir, pattern: '*.jsonl' }, tempDir());
    await h.until(() => h.outputs('out').length === 3);
    writeFileSync(join(dir, 'c.jsonl'), encode('jsonl', readings(3, 2)));
    await h.until(() => h.outputs('out').length === 5);
    // A line written in two parts is read once it is whole.
    const line = encode('jsonl', readings(5, 1)).toString();
    appendFileSync(join(dir, 'c.jsonl'), line.slice(0, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.outputs('out')).toHaveLength(5);
    appendFileSync(join(dir, 'c.jsonl'), line.slice(10) + encode('jsonl', readings(6, 2)).toString());
    await h.until(() => h.outputs('out').length === 8);
    expect(idsOf(h.outputs('out'))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('follows an Avro container as blocks are appended, and a CSV file as rows are', async () => {
    const dir = tempDir();
    const writer = new ContainerWriter(ReadingSchema, 'deflate');
    writeFileSync(join(dir, 'a.avro'), Buffer.concat([writer.header(), writer.block(readings(0, 4))]));
    const h = await start({ path: join(dir, 'a.avro'), format: 'avro' }, tempDir());
    await h.until(() => h.outputs('out').length === 4);
    appendFileSync(join(dir, 'a.avro'), writer.block(readings(4, 3)));
    await h.until(() => h.outputs('out').length === 7);
    expect(idsOf(h.outputs('out'))).toEqual([0, 1, 2, 3, 4, 5, 6]);

    writeFileSync(join(dir, 'b.csv'), encode('csv', readings(0, 2)));
    const c = await start({ path: join(dir, 'b.csv'), format: 'csv' }, tempDir());
    await c.until(() => c.outputs('out').length === 2);
    appendFileSync(join(dir, 'b.csv'), encode('csv', readings(2, 2), false));
    await c.until(() => c.outputs('out').length === 4);
    expect(c.outputs('out')).toEqual(readings(0, 4));
  });
});

describe('file ingress: restarts', () => {
  it.each(['jsonl', 'csv', 'avro'] as const)('%s: records read before a stop are not read again, none is skipped', async (format) => {
    const dir = tempDir();
    const positions = tempDir();
    const sent = readings(0, 5000);
    writeFileSync(join(dir, `1.${format}`), encode(format, sent.slice(0, 4000)));
    const config = { path: dir, format, 'batch-size': 32 };
    const first = await start(config, positions);
    await first.until(() => first.outputs('out').length >= 500);
    await first.stop();
    const before = first.outputs('out').length;
    expect(before).toBeLessThan(4000); // stopped in the middle of the file
    writeFileSync(join(dir, `2.${format}`), encode(format, sent.slice(4000)));
    const second = await start(config, positions);
    await second.until(() => before + second.outputs('out').length >= sent.length);
    expect(idsOf([...first.outputs('out'), ...second.outputs('out')])).toEqual(idsOf(sent));
    expect(second.outputs('out').at(-1)).toEqual(sent.at(-1));
  });

  it('an Avro block larger than a batch is resumed at the exact record', async () => {
    const dir = tempDir();
    const positions = tempDir();
    const writer = new ContainerWriter(ReadingSchema, 'null');
    const sent = readings(0, 3000);
    writeFileSync(join(dir, 'a.avro'), Buffer.concat([writer.header(), writer.block(sent.slice(0, 2000)), writer.block(sent.slice(2000))]));
    const config = { path: join(dir, 'a.avro'), format: 'avro', 'batch-size': 10 };
    const first = await start(config, positions);
    await first.until(() => first.outputs('out').length >= 500);
    await first.stop();
    expect(first.outputs('out').length).toBeLessThan(2000);
    const second = await start(config, positions);
    await second.until(() => first.outputs('out').length + second.outputs('out').length >= sent.length);
    expect(idsOf([...first.outputs('out'), ...second.outputs('out')])).toEqual(idsOf(sent));
  });

  it('reads a file replaced under the same name from its start; forgets files that are gone', async () => {
    const dir = tempDir();
    const positions = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), encode('jsonl', readings(0, 3)));
    const h = await start({ path: dir }, positions);
    await h.until(() => h.outputs('out').length === 3);
    writeFileSync(join(dir, 'next'), encode('jsonl', readings(10, 2)));
    renameSync(join(dir, 'next'), join(dir, 'a.jsonl'));
    await h.until(() => h.outputs('out').length === 5);
    expect(idsOf(h.outputs('out'))).toEqual([0, 1, 2, 10, 11]);
    rmSync(join(dir, 'a.jsonl'));
    await h.until(() => Object.keys((JSON.parse(readFileSync(join(positions, POSITIONS_FILE), 'utf8')) as { files: object }).files).length === 0);
  });

  it('sets an unreadable positions file aside and reads everything again (repeats, loses nothing)', async () => {
    const dir = tempDir();
    const positions = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), encode('jsonl', readings(0, 3)));
    writeFileSync(join(positions, POSITIONS_FILE), '{"version": 1, "files": {"x": {"offset": -1}}}');
    const { log, lines } = capturingLogger();
    const h = await start({ path: dir }, positions, log);
    await h.until(() => h.outputs('out').length === 3);
    expect(lines().find((l) => l.level === 'error')).toMatchObject({
      msg: 'read positions lost; reading every file from its start (records already read are read again)',
      error: expect.stringMatching(/^read positions file .*read-positions\.json is unreadable: x: offset is not a count: undefined|-1/),
    });
    expect(readdirSync(positions).some((f) => f.startsWith(`${POSITIONS_FILE}.corrupt-`))).toBe(true);
  });
});

describe('file ingress: malformed records', () => {
  it('reports each with file:line and its reason, counts it, skips it, and reads on', async () => {
    const dir = tempDir();
    const file = join(dir, 'in.jsonl');
    const good = (id: number) => JSON.stringify({ id, sensor: 's', value: id });
    writeFileSync(
      file,
      [
        good(1),
        '{"id": 2, "sensor":',
        JSON.stringify({ id: 3, sensor: 's', value: 'hot' }),
        JSON.stringify({ id: 4, value: 1 }),
        `{"id":5,"sensor":"${'x'.repeat(300)}","value":1}`,
        good(6),
      ]
        .map((l) => `${l}\n`)
        .join(''),
    );
    const { log, lines } = capturingLogger();
    const h = await start({ path: file, 'max-record-size': '256B' }, tempDir(), log);
    await h.until(() => h.outputs('out').length === 2);
    expect(idsOf(h.outputs('out'))).toEqual([1, 6]);
    const rejected = lines().filter((l) => String(l.msg).startsWith('rejected a message: '));
    expect(rejected.map((l) => [l.reason, l.error])).toEqual([
      ['undecodable', expect.stringMatching(new RegExp(`^record on ${file}:2 cannot be decoded with schema test\\.connectors\\.Reading: not JSON: `))],
      ['invalid', `record for ${file}:3 does not match schema test.connectors.Reading: value: "hot" is not a number (double)`],
      ['invalid', `record for ${file}:4 does not match schema test.connectors.Reading: sensor: missing (string, no default)`],
      ['too_large', `record on ${file}:5 (schema test.connectors.Reading) is 330 bytes, over the limit of 256 bytes`],
    ]);
    expect(await metric(h.url, 'sluice_connector_rejected_total{reason="invalid",streamlet="file-in"}')).toBe(2);
    expect(await metric(h.url, 'sluice_connector_rejected_total{reason="too_large",streamlet="file-in"}')).toBe(1);
    // A line appended later is read; the bad ones are not read again.
    appendFileSync(file, `${good(7)}\n`);
    await h.until(() => h.outputs('out').length === 3);
    expect(lines().filter((l) => String(l.msg).startsWith('rejected a message: '))).toHaveLength(4);
  });

  it('skips a CSV file whose header is unusable, saying why, until it is replaced', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.csv'), 'id,id\n1,2\n');
    writeFileSync(join(dir, 'b.csv'), encode('csv', readings(0, 2)));
    const { log, lines } = capturingLogger();
    const h = await start({ path: dir, format: 'csv' }, tempDir(), log);
    await h.until(() => h.outputs('out').length === 2);
    expect(lines().find((l) => l.msg === 'file cannot be read; skipping it until it is replaced')).toMatchObject({
      level: 'error',
      file: join(dir, 'a.csv'),
      error: expect.stringMatching(/a\.csv:1 \(header\) cannot be decoded with schema test\.connectors\.Reading: not CSV: the header repeats column id$/),
    });
  });
});

describe('file ingress: config', () => {
  it('names the key and what is wrong', async () => {
    const missing = join(tempDir(), 'nothing-here');
    const h = await startStreamlet(FileIn, { name: 'file-in', config: { path: missing }, volumes: { positions: tempDir() } });
    const outcome = await h.app.finished;
    expect(!outcome.ok && outcome.error.message).toBe(`streamlet file-in failed: file-in.path: ${missing} does not exist`);
    await h.stop();
    const volumes = { positions: tempDir() };
    await expect(startStreamlet(FileIn, { name: 'file-in', config: { path: '.', format: 'xml' }, volumes })).rejects.toThrow(
      'config of file-in: format expected one of jsonl, csv, avro, got "xml"',
    );
    await expect(startStreamlet(FileIn, { name: 'file-in', config: {}, volumes })).rejects.toThrow(/path is required/);
    await expect(startStreamlet(FileIn, { name: 'file-in', config: { path: '.', 'csv-delimiter': ';;' }, volumes })).rejects.toThrow(
      /csv-delimiter ";;" does not match/,
    );
  });
});
