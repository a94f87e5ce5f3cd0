/**
 * The HTTP ingress, run for real by the testkit and called over loopback: every body format,
 * every way a request can be wrong (with its status and message), 202 meaning "accepted by the
 * runtime" across a restart, and backpressure turning into 503/429 with Retry-After.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { runApplication, type StartedApplication } from '../../../src/app.js';
import { ContainerWriter } from '../../../src/connectors/avro-container.js';
import { httpIngress } from '../../../src/connectors/http/ingress.js';
import { defineSchema } from '../../../src/core/schema.js';
import { defineStreamlet } from '../../../src/core/streamlet.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { capturingLogger, tempDir } from '../../support/recommender.js';
import { idsOf, metric, readings, ReadingSchema, type Reading } from '../file/support.js';

const HttpIn = httpIngress({ schema: ReadingSchema });
const harnesses: StreamletHarness[] = [];
let app: StartedApplication | undefined;

afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
  await app?.stop();
  app = undefined;
});

async function start(config: Record<string, unknown> = {}, log = capturingLogger().log): Promise<{ h: StreamletHarness; url: string }> {
  const h = await startStreamlet(HttpIn, { name: 'http-in', config: { host: '127.0.0.1', port: 0, path: '/readings', ...config }, log });
  harnesses.push(h);
  const url = await ingressUrl(() => h.app.endpoints.view('/http-in/http'));
  return { h, url };
}

/** The URL the ingress listens on, once it does (it serves it at /<streamlet>/http). */
async function ingressUrl(view: () => (() => unknown) | undefined): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const found = view()?.() as { url?: string } | undefined;
    if (found?.url) return found.url;
    await sleep(10);
  }
  throw new Error('the ingress did not start listening');
}

async function post(url: string, body: string | Buffer | Readable, contentType?: string, method = 'POST') {
  const response = await request(url, { method, body, headers: contentType ? { 'content-type': contentType } : {} });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    json: (text ? JSON.parse(text) : undefined) as { accepted?: number; error?: string; code?: string },
  };
}

const json = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('base64') : v,
  );

describe('http ingress: formats', () => {
  it('takes one JSON record, a JSON array, JSON lines, Avro binary and Avro containers, and emits them in order', async () => {
    const { h, url } = await start();
    const sent = readings(0, 20);
    expect((await post(url, json(sent[0]), 'application/json; charset=utf-8')).json).toEqual({ accepted: 1 });
    expect((await post(url, json(sent.slice(1, 5)), 'application/json')).json).toEqual({ accepted: 4 });
    const lines = sent.slice(5, 9).map((r) => json(r));
    expect(await post(url, `${lines.join('\n')}\n\n`, 'application/x-ndjson')).toMatchObject({ status: 202, json: { accepted: 4 } });
    expect(await post(url, ReadingSchema.encode(sent[9] as Reading), 'application/avro')).toMatchObject({ status: 202, json: { accepted: 1 } });
    for (const [codec, slice] of [['null', sent.slice(10, 15)] as const, ['deflate', sent.slice(15, 20)] as const]) {
      const writer = new ContainerWriter(ReadingSchema, codec);
      const container = Buffer.concat([writer.header(), writer.block(slice.slice(0, 2)), writer.block(slice.slice(2))]);
      expect(await post(url, container, 'application/vnd.apache.avro+container')).toMatchObject({ status: 202, json: { accepted: 5 } });
    }
    await h.until(() => h.outputs('out').length === 20);
    expect(h.outputs('out')).toEqual(sent);
  });

  it('reads an Avro container written with an older schema by Avro resolution (a field added since, with a default)', async () => {
    const { h, url } = await start();
    const Older = defineSchema({
      type: 'record',
      name: 'Reading',
      namespace: 'test.connectors',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'sensor', type: 'string' },
        { name: 'value', type: 'double' },
      ],
    });
    const writer = new ContainerWriter(Older, 'null');
    await post(url, Buffer.concat([writer.header(), writer.block([{ id: 7, sensor: 'old', value: 1.5 }])]), 'application/vnd.apache.avro+container');
    await h.until(() => h.outputs('out').length === 1);
    expect(h.outputs('out')[0]).toEqual({ id: 7, sensor: 'old', value: 1.5, ok: true, note: null, tags: [], raw: Buffer.alloc(0) });
  });
});

describe('http ingress: requests that are wrong', () => {
  it('answers each with its status and a message naming what is wrong, counts it, and keeps going', async () => {
    const { log, lines } = capturingLogger();
    const { h, url } = await start({ 'max-request-size': '2KiB' }, log);
    const good = readings(0, 3);

    const badJson = await post(url, '{"id": 1,', 'application/json');
    expect(badJson).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_RECORD_UNDECODABLE' } });
    expect(badJson.json.error).toMatch(/^record on http-in POST \/readings cannot be decoded with schema test\.connectors\.Reading: not JSON: /);

    const wrongType = await post(url, JSON.stringify({ id: 1, sensor: 's', value: 'hot' }), 'application/json');
    expect(wrongType).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_RECORD_INVALID' } });
    expect(wrongType.json.error).toBe('record for http-in POST /readings does not match schema test.connectors.Reading: value: "hot" is not a number (double)');

    const missing = await post(url, JSON.stringify({ id: 1, value: 2 }), 'application/json');
    expect(missing.json.error).toMatch(/: sensor: missing \(string, no default\)$/);

    // One bad record in a batch: the batch is rejected whole, naming the index and the field.
    const plain = (r: unknown) => JSON.parse(json(r)) as Record<string, unknown>;
    const batch = [plain(good[0]), { ...plain(good[1]), id: 'x' }, plain(good[2]), { id: 4, sensor: 's', value: 1, tags: [1] }];
    const badBatch = await post(url, JSON.stringify(batch), 'application/json');
    expect(badBatch).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_RECORD_INVALID' } });
    expect(badBatch.json.error).toMatch(
      /2 of 4 records are bad, so the batch was rejected whole: \[1\] id: "x" is not an integer \(long\) \| \[3\] tags\[0\]: 1 is not a string$/,
    );

    const badLine = await post(url, `${json(good[0])}\nnot json\n`, 'application/x-ndjson');
    expect(badLine).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_RECORD_UNDECODABLE' } });
    expect(badLine.json.error).toMatch(/1 of 2 records are bad, so the batch was rejected whole: line 2 not JSON: /);

    const badAvro = await post(url, Buffer.from([0x02, 0xff]), 'application/avro');
    expect(badAvro).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_RECORD_UNDECODABLE' } });

    const notContainer = await post(url, Buffer.from('plain text'), 'application/vnd.apache.avro+container');
    expect(notContainer.json.error).toMatch(/not an Avro container file/);
    const writer = new ContainerWriter(ReadingSchema, 'null');
    const cut = Buffer.concat([writer.header(), writer.block(good)]);
    expect((await post(url, cut.subarray(0, cut.length - 5), 'application/vnd.apache.avro+container')).json.error).toMatch(
      /the Avro container ends inside the block at byte \d+$/,
    );

    const tooLarge = await post(url, JSON.stringify(readings(0, 40)), 'application/json');
    expect(tooLarge).toMatchObject({ status: 413, json: { code: 'SLUICE_ERR_REQUEST_TOO_LARGE', error: 'request body exceeds the limit of 2048 bytes' } });
    // Without a Content-Length (chunked), the limit is enforced while reading.
    const chunked = await post(url, Readable.from([Buffer.from('['), Buffer.from(JSON.stringify(readings(0, 40)).slice(1))]), 'application/json');
    expect(chunked).toMatchObject({ status: 413, json: { code: 'SLUICE_ERR_REQUEST_TOO_LARGE' } });

    const unknownType = await post(url, 'id=1', 'application/x-www-form-urlencoded');
    expect(unknownType).toMatchObject({ status: 415, json: { code: 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE' } });
    expect(unknownType.json.error).toMatch(
      /^http-in POST \/readings: content type application\/x-www-form-urlencoded is not supported; send one of application\/json, application\/x-ndjson, /,
    );
    expect((await post(url, json(good[0]))).json.error).toMatch(/content type \(none\) is not supported/);

    const get = await post(url, '', undefined, 'GET');
    expect(get).toMatchObject({ status: 405, json: { error: 'GET is not allowed on /readings; allowed: POST' } });
    expect(get.headers.allow).toBe('POST');
    expect(await post(url.replace('/readings', '/other'), json(good[0]), 'application/json')).toMatchObject({
      status: 404,
      json: { error: 'no endpoint POST /other' },
    });

    // Nothing of the bad requests went through, and the ingress still takes records.
    expect(await post(url, json(good), 'application/json')).toMatchObject({ status: 202, json: { accepted: 3 } });
    await h.until(() => h.outputs('out').length === 3);
    expect(idsOf(h.outputs('out'))).toEqual([0, 1, 2]);

    expect(await metric(h.url, 'sluice_connector_rejected_total{reason="invalid",streamlet="http-in"}')).toBe(3);
    expect(await metric(h.url, 'sluice_connector_rejected_total{reason="undecodable",streamlet="http-in"}')).toBe(5);
    expect(await metric(h.url, 'sluice_connector_rejected_total{reason="too_large",streamlet="http-in"}')).toBe(2);
    expect(await metric(h.url, 'sluice_connector_rejected_total{reason="unsupported_type",streamlet="http-in"}')).toBe(2);
    const logged = lines().filter((l) => String(l.msg).startsWith('rejected a message: '));
    expect(logged[0]).toMatchObject({ level: 'warn', reason: 'undecodable', error: expect.stringMatching(/not JSON/) });
    expect(logged.length).toBe(10); // the rest of this interval is only counted
  });

  it('refuses config it cannot use, naming the key', async () => {
    await expect(startStreamlet(HttpIn, { name: 'http-in', config: { path: 'readings' } })).rejects.toThrow(/path "readings" does not match/);
    await expect(startStreamlet(HttpIn, { name: 'http-in', config: { port: 70000 } })).rejects.toThrow(/port must be at most 65535, got 70000/);
    await expect(startStreamlet(HttpIn, { name: 'http-in', config: { 'max-request-size': 'lots' } })).rejects.toThrow(
      /max-request-size expected a memory size such as 64MiB, got "lots"/,
    );

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const h = await startStreamlet(HttpIn, { name: 'http-in', config: { host: '127.0.0.1', port } });
      const outcome = await h.app.finished;
      expect(outcome.ok).toBe(false);
      expect(!outcome.ok && outcome.error.message).toMatch(
        new RegExp(`streamlet http-in failed: http-in.port: cannot listen on 127.0.0.1:${port}: .*EADDRINUSE`),
      );
      await h.stop();
    } finally {
      taken.close();
    }
  });
});

/** A free TCP port (to start two ingresses on the same one in turn). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('http ingress: delivery', () => {
  it('every record of a 202 is emitted, across a restart of the streamlet while clients keep sending and retrying', async () => {
    const port = await freePort();
    const config = { host: '127.0.0.1', port, path: '/readings' };
    const first = await startStreamlet(HttpIn, { name: 'http-in', config });
    await ingressUrl(() => first.app.endpoints.view('/http-in/http'));
    const url = `http://127.0.0.1:${port}/readings`;
    const requests = 120;
    const perRequest = 5;
    const accepted = new Set<number>();
    const retried = new Set<number>();
    let next = 0;
    const client = async () => {
      for (let r = next++; r < requests; r = next++) {
        const body = json(readings(r * perRequest, perRequest));
        for (let attempt = 0; ; attempt++) {
          const status = await post(url, body, 'application/json').then(
            (reply) => reply.status,
            () => 0, // connection refused or reset: the ingress is restarting
          );
          if (status === 202) break;
          expect([0, 503]).toContain(status);
          retried.add(r);
          await sleep(20);
        }
        accepted.add(r);
      }
    };
    const clients = Promise.all([client(), client(), client()]);
    await first.until(() => first.outputs('out').length >= 150);
    await first.stop();
    const second = await startStreamlet(HttpIn, { name: 'http-in', config });
    harnesses.push(second);
    await clients;
    await second.until(() => new Set([...idsOf(first.outputs('out')), ...idsOf(second.outputs('out'))]).size === requests * perRequest);

    const ids = [...idsOf(first.outputs('out')), ...idsOf(second.outputs('out'))];
    expect(accepted.size).toBe(requests);
    expect(retried.size).toBeGreaterThan(0); // the restart happened while clients were sending
    expect(new Set(ids).size).toBe(requests * perRequest);
    // At-least-once: a record may repeat only if its request was retried.
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    for (const id of repeated) expect(retried.has(Math.floor(id / perRequest))).toBe(true);
    // Requests in flight when the first one stopped were finished by it, not dropped.
    expect(first.outputs('out').length % perRequest).toBe(0);
  });
});

describe('http ingress: backpressure', () => {
  it('answers 503 with Retry-After when the pipeline does not take the records in time, 429 when too many requests are in flight', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const taken: number[] = [];
    const Gate = defineStreamlet({
      description: 'Takes nothing until the test opens it',
      inlets: { in: ReadingSchema },
      async run(ctx) {
        for await (const batch of ctx.inlet('in').batches()) {
          await gate;
          taken.push(...batch.map((r) => r.id));
        }
      },
    });
    const dir = tempDir();
    const blueprint = join(dir, 'gate.conf');
    writeFileSync(blueprint, 'blueprint { streamlets { http-in = t.HttpIn, gate = t.Gate }, connections { http-in.out = [gate.in] } }\n');
    app = await runApplication({
      blueprint,
      packages: { t: { HttpIn, Gate } },
      overrides: [
        'sluice.http.port=0',
        `sluice.state-directory=${dir}`,
        'sluice.local.topic-capacity=4',
        'http-in.host=127.0.0.1',
        'http-in.port=0',
        'http-in.accept-timeout=200ms',
        'http-in.max-in-flight=1',
        'http-in.retry-after=3s',
      ],
      logLevel: 'silent',
    });
    const running = app;
    const url = await ingressUrl(() => running.endpoints.view('/http-in/http'));

    const stalled = await post(url, json(readings(0, 20)), 'application/json');
    expect(stalled).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_BACKPRESSURE' } });
    expect(stalled.json.error).toBe('http-in POST /: the pipeline did not accept the records within 200 ms; retry after 3 s');
    expect(stalled.headers['retry-after']).toBe('3');
    // The stalled records still hold the one slot: the next request is turned away at once.
    const busy = await post(url, json(readings(20, 1)), 'application/json');
    expect(busy).toMatchObject({
      status: 429,
      json: { code: 'SLUICE_ERR_TOO_MANY_REQUESTS', error: 'http-in POST /: 1 requests are already in flight; retry after 3 s' },
    });
    expect(busy.headers['retry-after']).toBe('3');

    open();
    // Once the pipeline moves, a 503'd batch may still arrive (a retry would repeat it: at-least-once), and new requests are taken.
    await expect.poll(async () => (await post(url, json(readings(20, 1)), 'application/json')).status, { timeout: 10_000 }).toBe(202);
    await expect.poll(() => taken.includes(20), { timeout: 10_000 }).toBe(true);
    expect(taken.filter((id) => id < 20)).toEqual(taken.filter((id) => id < 20).sort((a, b) => a - b));
  });
});
