/**
 * HTTP request/response through a pipeline: a transaction POSTed to the serving ingress goes
 * through the fraud example's model-serving and its FraudResult comes back in the response.
 * Then the pair alone: correlation by id, batches, duplicate ids, timeouts, bad requests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFraudOnnx, type Autoencoder } from '../../../examples/fraud/models/train.js';
import { FraudResultSchema, TransactionRecordSchema, transactionFeatures, type FraudResult, type TransactionRecord } from '../../../examples/fraud/schemas.js';
import { runApplication, type StartedApplication } from '../../../src/app.js';
import { toJson } from '../../../src/connectors/json.js';
import { httpServing } from '../../../src/connectors/http/serving.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { tempDir } from '../../support/recommender.js';

const WIDTH = 29;
/**
 * The hand-made autoencoder of test/fraud/adapter.test.ts: its reconstruction error is
 * (min(v1, 0)² + v2² + … + v28² + ((amount − 100) / 10)²) / 29.
 */
const tiny: Autoencoder = {
  mean: Float32Array.from({ length: WIDTH }, (_, j) => (j === 28 ? 100 : 0)),
  scale: Float32Array.from({ length: WIDTH }, (_, j) => (j === 28 ? 0.1 : 1)),
  layers: [
    { inputs: WIDTH, units: 1, activation: 'relu', kernel: Float32Array.from({ length: WIDTH }, (_, j) => (j === 0 ? 1 : 0)), bias: new Float32Array(1) },
    { inputs: 1, units: WIDTH, activation: 'linear', kernel: Float32Array.from({ length: WIDTH }, (_, j) => (j === 0 ? 1 : 0)), bias: new Float32Array(WIDTH) },
  ],
  threshold: 0.1,
};

function transaction(id: number, values: Partial<Record<(typeof transactionFeatures)[number], number>> = {}): TransactionRecord {
  const record = { id, label: false } as TransactionRecord;
  for (const f of transactionFeatures) record[f] = f === 'amount' ? 100 : 0;
  return Object.assign(record, values);
}

const serving = () =>
  httpServing({
    request: TransactionRecordSchema,
    response: FraudResultSchema,
    correlate: { requestId: (t) => String(t.id), resultId: (r) => String(r.inputRecord.id) },
  });

async function post(url: string, body: unknown) {
  const response = await request(url, { method: 'POST', body: JSON.stringify(toJson(body)), headers: { 'content-type': 'application/json' } });
  return { status: response.statusCode, headers: response.headers, json: (await response.body.json()) as Record<string, unknown> & Record<number, unknown> };
}

async function ingressUrl(view: () => (() => unknown) | undefined): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const found = view()?.() as { url?: string } | undefined;
    if (found?.url) return found.url;
    await sleep(10);
  }
  throw new Error('the serving ingress did not start listening');
}

let app: StartedApplication | undefined;
const harnesses: StreamletHarness[] = [];
afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const h of harnesses.splice(0)) await h.stop();
});

describe('http serving with the fraud example', () => {
  it('answers a POSTed transaction with its FraudResult, scored by the model in the pipeline', async () => {
    const dir = tempDir();
    const models = join(dir, 'models');
    mkdirSync(models);
    writeFileSync(join(models, 'tiny.onnx'), buildFraudOnnx(tiny, { name: 'tiny' }));
    const blueprint = join(dir, 'fraud-http.conf');
    writeFileSync(
      blueprint,
      `blueprint {
        streamlets { http-in = http.Ingress, model-ingress = fraud.ModelIngress, model-serving = fraud.ModelServing, http-out = http.Egress }
        connections {
          http-in.out = [model-serving.in-0]
          model-ingress.out = [model-serving.in-1]
          model-serving.out = [http-out.in]
        }
      }\n`,
    );
    const { ingress, egress } = serving();
    app = await runApplication({
      blueprint,
      packages: { http: { Ingress: ingress, Egress: egress } },
      overrides: [
        'sluice.http.port=0',
        `sluice.state-directory=${dir}`,
        'http-in.host=127.0.0.1',
        'http-in.port=0',
        `model-ingress.models-directory=${models}`,
        'model-ingress.interval=1h',
        'model-serving.threshold=0.5',
      ],
      logLevel: 'silent',
    });
    const running = app;
    const url = await ingressUrl(() => running.endpoints.view('/http-in/http'));

    // Until the model update has gone through, results say there is no model (and still come back).
    let id = 0;
    await expect
      .poll(async () => ((await post(url, transaction(++id))).json.modelResultMetadata as { modelName: string }).modelName, { timeout: 20_000 })
      .toBe('tiny');

    const normal = await post(url, transaction(1001, { v1: 2, v2: 3, amount: 110 }));
    expect(normal.status).toBe(200);
    expect(normal.json).toMatchObject({
      inputRecord: { id: 1001, v2: 3 },
      threshold: 0.5,
      verdict: 'normal',
      modelResultMetadata: { errors: '', modelName: 'tiny' },
    });
    expect(normal.json.score).toBeCloseTo((9 + 1) / 29, 5);

    const fraud = await post(url, transaction(1002, { v2: 3, v3: 3 }));
    expect(fraud.json).toMatchObject({ inputRecord: { id: 1002 }, verdict: 'fraud' });
    expect(fraud.json.score).toBeCloseTo(18 / 29, 5);

    // A batch comes back as a list, in request order.
    const batch = await post(url, [transaction(1003), transaction(1004, { amount: 80 }), transaction(1005, { v1: -1 })]);
    expect(batch.status).toBe(200);
    const results = batch.json as unknown as FraudResult[];
    expect(results.map((r) => r.inputRecord.id)).toEqual([1003, 1004, 1005]);
    expect(results.map((r) => Number(r.score?.toFixed(6)))).toEqual([0, Number((4 / 29).toFixed(6)), Number((1 / 29).toFixed(6))]);

    // A record the request schema refuses never enters the pipeline.
    const bad = await post(url, { id: 'x' });
    expect(bad).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_RECORD_INVALID' } });
    expect(bad.json.error).toMatch(/id: "x" is not an integer \(long\)/);
  });
});

describe('http serving: the ingress and egress pair', () => {
  async function startPair(ingressConfig: Record<string, unknown> = {}) {
    const { ingress, egress } = serving();
    const front = await startStreamlet(ingress, { name: 'http-in', config: { host: '127.0.0.1', port: 0, ...ingressConfig } });
    const back = await startStreamlet(egress, { name: 'http-out' });
    harnesses.push(front, back);
    return { front, back, url: await ingressUrl(() => front.app.endpoints.view('/http-in/http')) };
  }

  const result = (t: TransactionRecord, score: number): FraudResult => ({
    inputRecord: t,
    score,
    threshold: 0.5,
    verdict: score > 0.5 ? 'fraud' : 'normal',
    modelResultMetadata: { errors: '', modelName: 'm', source: 'test', startTime: 0, duration: 0.1 },
  });

  it('answers each request with the result carrying its id, whatever order results come in', async () => {
    const { front, back, url } = await startPair();
    const replies = Promise.all([post(url, transaction(1)), post(url, [transaction(2), transaction(3)])]);
    await front.until(() => front.outputs('out').length === 3);
    const emitted = front.outputs('out') as TransactionRecord[];
    // Answered out of order, with a result nobody waits for in between.
    await back.send('in', [result(transaction(99), 0.9), ...[...emitted].reverse().map((t) => result(t, t.id / 10))]);
    const [single, pair] = await replies;
    expect(single).toMatchObject({ status: 200, json: { inputRecord: { id: 1 }, score: 0.1 } });
    expect((pair.json as unknown as FraudResult[]).map((r) => [r.inputRecord.id, r.score])).toEqual([
      [2, 0.2],
      [3, 0.3],
    ]);
  });

  it('refuses an id that is already waiting (409), and answers 504 when no result comes in time', async () => {
    const { front, url } = await startPair({ 'response-timeout': '300ms' });
    const waiting = post(url, transaction(7));
    await front.until(() => front.outputs('out').length === 1);
    const duplicate = await post(url, transaction(7));
    expect(duplicate).toMatchObject({
      status: 409,
      json: { code: 'SLUICE_ERR_DUPLICATE_REQUEST_ID', error: 'http-in POST /: a request with id 7 is already waiting for its result' },
    });
    expect((await post(url, [transaction(8), transaction(8)])).status).toBe(409);
    expect(await waiting).toMatchObject({
      status: 504,
      json: { code: 'SLUICE_ERR_RESPONSE_TIMEOUT', error: 'http-in POST /: no result for request 7 within 300 ms' },
    });
    // Timed out, the id is free again.
    const again = post(url, transaction(7));
    await front.until(() => front.outputs('out').length === 2);
    expect((await again).status).toBe(504);
  });

  it('tells waiting requests at once when the egress stops (503), instead of at their timeout', async () => {
    const { front, back, url } = await startPair({ 'response-timeout': '1h' });
    const waiting = post(url, transaction(5));
    await front.until(() => front.outputs('out').length === 1);
    await back.stop();
    const reply = await waiting;
    expect(reply).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_SHUTDOWN', error: 'stopped: http-out stopped answering requests' } });
    expect(reply.headers['retry-after']).toBe('1');
  });
});
