/**
 * HTTP throughput over loopback, each beside a bare node:http server answering the same requests
 * from the same undici client in the same run:
 * - ingress, JSON batches of 100 records per POST, 8 in flight: the connector answers 202 once
 *   the runtime accepted the records (schema-checked); the bare server once it has parsed them;
 * - ingress, one record per POST, 16 in flight;
 * - request/response: one record per POST through the serving ingress, the local runtime and the
 *   serving egress back to the waiting request, against a bare server echoing the record.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { runApplication } from '../../src/app.js';
import { httpIngress } from '../../src/connectors/http/ingress.js';
import { httpServing } from '../../src/connectors/http/serving.js';
import { stringifyJson } from '../../src/connectors/json.js';
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
    { name: 'values', type: { type: 'array', items: 'double' } },
  ],
} as const);
type Reading = typeof Reading extends Schema<infer T> ? T : never;

const readings = (n: number): Reading[] =>
  Array.from({ length: n }, (_, id) => ({ id, machine: `machine-${id % 100}`, values: [id / 3, id / 7, id / 11, 0.5] }));
const silent = createLogger({ level: 'silent' });

/** POSTs every body from `concurrency` loops sharing one keep-alive pool; each must get `status`. */
async function postAll(url: string, bodies: readonly string[], concurrency: number, status: number): Promise<void> {
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < bodies.length; i = next++) {
          const response = await pool.request({ path: pathname, method: 'POST', body: bodies[i], headers: { 'content-type': 'application/json' } });
          await response.body.text();
          if (response.statusCode !== status) throw new Error(`POST ${url}: ${response.statusCode}, expected ${status}`);
        }
      }),
    );
  } finally {
    await pool.close();
  }
}

/** A bare node:http server: reads the body, parses it, answers with `reply(parsed)`. */
async function bareServer(reply: (parsed: unknown) => { status: number; body: string }): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { status, body } = reply(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

async function listening(view: () => (() => unknown) | undefined): Promise<string> {
  for (;;) {
    const found = view()?.() as { url?: string } | undefined;
    if (found?.url) return found.url;
    await sleep(5);
  }
}

const batches = (values: readonly Reading[], size: number) =>
  Array.from(
    { length: Math.ceil(values.length / size) },
    (_, i) =>
      `[${values
        .slice(i * size, (i + 1) * size)
        .map(stringifyJson)
        .join(',')}]`,
  );

async function ingressRow(records: number, perRequest: number, concurrency: number): Promise<ConnectorMeasurement> {
  const bodies = perRequest === 1 ? readings(records).map(stringifyJson) : batches(readings(records), perRequest);
  // Both servers first take a tenth of the requests untimed, so neither is measured cold.
  const warmUp = bodies.slice(0, Math.ceil(bodies.length / 10));
  const warmUpRecords = perRequest === 1 ? warmUp.length : warmUp.reduce((n, body) => n + (JSON.parse(body) as unknown[]).length, 0);
  const bare = await bareServer((parsed) => ({ status: 202, body: JSON.stringify({ accepted: Array.isArray(parsed) ? parsed.length : 1 }) }));
  await postAll(bare.url, warmUp, concurrency, 202);
  const raw = await timed(() => postAll(bare.url, bodies, concurrency, 202));
  bare.server.close();
  const harness = await startStreamlet(httpIngress({ schema: Reading }), {
    name: 'http-in',
    config: { host: '127.0.0.1', port: 0 },
    log: silent,
    topicCapacity: 8192,
  });
  const url = await listening(() => harness.app.endpoints.view('/http-in/http'));
  await postAll(url, warmUp, concurrency, 202);
  await harness.until(() => harness.outputs('out').length === warmUpRecords, 120_000);
  const connector = await timed(async () => {
    await postAll(url, bodies, concurrency, 202);
    await harness.until(() => harness.outputs('out').length === warmUpRecords + records, 120_000);
  });
  await harness.stop();
  return {
    id: perRequest === 1 ? 'http-ingress-single' : 'http-ingress',
    label:
      perRequest === 1
        ? `HTTP ingress, 1 JSON record per POST, ${concurrency} in flight`
        : `HTTP ingress, JSON arrays of ${perRequest} per POST, ${concurrency} in flight`,
    records,
    connector: records / connector,
    raw: records / raw,
    rawLabel: 'bare node:http server: read + JSON.parse, then 202 (undici client)',
  };
}

async function servingRow(records: number, concurrency: number): Promise<ConnectorMeasurement> {
  const bodies = readings(records).map(stringifyJson);
  const warmUp = readings(Math.ceil(records / 10)).map((r) => stringifyJson({ ...r, id: -1 - r.id }));
  const bare = await bareServer((parsed) => ({ status: 200, body: JSON.stringify(parsed) }));
  await postAll(bare.url, warmUp, concurrency, 200);
  const raw = await timed(() => postAll(bare.url, bodies, concurrency, 200));
  bare.server.close();

  const { ingress, egress } = httpServing({
    request: Reading,
    response: Reading,
    correlate: { requestId: (r) => String(r.id), resultId: (r) => String(r.id) },
  });
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-http-'));
  const blueprint = join(dir, 'echo.conf');
  writeFileSync(blueprint, 'blueprint { streamlets { http-in = b.In, http-out = b.Out }, connections { http-in.out = [http-out.in] } }\n');
  const app = await runApplication({
    blueprint,
    packages: { b: { In: ingress, Out: egress } },
    overrides: [
      'sluice.http.port=0',
      `sluice.state-directory=${dir}`,
      'sluice.metrics.enabled=false',
      'http-in.host=127.0.0.1',
      'http-in.port=0',
      'http-in.max-in-flight=1024',
    ],
    log: silent,
  });
  const url = await listening(() => app.endpoints.view('/http-in/http'));
  await postAll(url, warmUp, concurrency, 200);
  const connector = await timed(() => postAll(url, bodies, concurrency, 200));
  await app.stop();
  return {
    id: 'http-serving',
    label: `HTTP request/response through the pipeline, 1 record per POST, ${concurrency} in flight`,
    records,
    connector: records / connector,
    raw: records / raw,
    rawLabel: 'bare node:http server echoing the parsed record (undici client)',
  };
}

export const httpBenchmark: ConnectorBenchmark = async ({ records }) => {
  const singles = Math.max(1, Math.floor(records / 5));
  return [await ingressRow(records, 100, 8), await ingressRow(singles, 1, 16), await servingRow(singles, 16)];
};
