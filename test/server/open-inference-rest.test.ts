/**
 * Open Inference Protocol over REST, called for real over loopback: health, metadata,
 * readiness, inference checked against the executor called directly, and every malformed
 * request answered with its documented status and message, the server serving on after each.
 */
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../../src/server/server.js';
import { oipBody, onnxBytes, quietLog, recommenderA, recommenderB, referenceScores, RestClient, tempRepository, writeVersion } from './support.js';

let repository: string;
let server: ModelServer;
let client: RestClient;
const users = [0, 17, 999, 400];
const products = [5, 299, 0, 150];

beforeAll(async () => {
  repository = await tempRepository();
  await writeVersion(repository, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
  await writeVersion(repository, 'other', 3, 'model.onnx', onnxBytes(recommenderB));
  server = await startModelServer({ models: repository, httpPort: 0, grpcPort: 0, maxRequestBytes: 64 * 1024, log: quietLog });
  client = new RestClient(server.urls.http);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

async function expectGoodInference(): Promise<void> {
  const reply = await client.post('/v2/models/recommender/infer', oipBody([3], [4]));
  expect(reply.status).toBe(200);
  expect(reply.json().outputs[0].data[0]).toBeCloseTo((await referenceScores(recommenderA, [3], [4]))[0] as number, 6);
}

describe('health and metadata', () => {
  it('is live and ready, and describes itself', async () => {
    expect((await client.get('/v2/health/live')).json()).toEqual({ live: true });
    const ready = await client.get('/v2/health/ready');
    expect([ready.status, ready.json()]).toEqual([200, { ready: true }]);
    expect((await client.get('/v2')).json()).toEqual({ name: 'sluice', version: expect.stringMatching(/^\d+\.\d+\.\d+/), extensions: ['model_repository'] });
  });

  it('gives model metadata with and without a version', async () => {
    const expected = {
      name: 'recommender',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'users', datatype: 'FP32', shape: [-1, 1] },
        { name: 'products', datatype: 'FP32', shape: [-1, 1] },
      ],
      outputs: [{ name: 'predictions', datatype: 'FP32', shape: [-1, 1] }],
    };
    expect((await client.get('/v2/models/recommender')).json()).toEqual(expected);
    expect((await client.get('/v2/models/recommender/versions/1')).json()).toEqual(expected);
    expect((await client.get('/v2/models/other')).json()).toMatchObject({ name: 'other', versions: ['3'] });
  });

  it('says whether a model and a version are ready', async () => {
    expect((await client.get('/v2/models/recommender/ready')).json()).toEqual({ name: 'recommender', ready: true });
    expect((await client.get('/v2/models/other/versions/3/ready')).json()).toEqual({ name: 'other', ready: true });
    const notServed = await client.get('/v2/models/other/versions/2/ready');
    expect([notServed.status, notServed.json()]).toEqual([503, { name: 'other', ready: false }]);
    const unknown = await client.get('/v2/models/nope/ready');
    expect([unknown.status, unknown.json()]).toEqual([404, { error: 'model nope not found' }]);
  });

  it('lists the repository with each version state', async () => {
    expect((await client.post('/v2/repository/index', {})).json()).toEqual([
      { name: 'other', version: '3', state: 'READY', reason: '' },
      { name: 'recommender', version: '1', state: 'READY', reason: '' },
    ]);
  });
});

describe('inference', () => {
  it('scores like the model called through its executor', async () => {
    const reply = await client.post('/v2/models/recommender/infer', oipBody(users, products, { id: 'req-1' }));
    expect(reply.status).toBe(200);
    const body = reply.json();
    expect(body).toMatchObject({ model_name: 'recommender', model_version: '1', id: 'req-1' });
    expect(body.outputs).toHaveLength(1);
    expect(body.outputs[0]).toMatchObject({ name: 'predictions', datatype: 'FP32', shape: [4, 1] });
    const expected = await referenceScores(recommenderA, users, products);
    body.outputs[0].data.forEach((value: number, i: number) => expect(value).toBeCloseTo(expected[i] as number, 6));
  });

  it('takes nested data, a named version and requested outputs', async () => {
    const body = oipBody(users, products, { outputs: [{ name: 'predictions' }] });
    body.inputs[0] = { ...body.inputs[0], data: users.map((u) => [u]) };
    const reply = await client.post('/v2/models/other/versions/3/infer', body);
    expect(reply.status).toBe(200);
    const expected = await referenceScores(recommenderB, users, products);
    expect(reply.json().model_version).toBe('3');
    reply.json().outputs[0].data.forEach((value: number, i: number) => expect(value).toBeCloseTo(expected[i] as number, 6));
  });
});

describe('malformed requests get their documented error, and the server serves on', () => {
  const good = () => oipBody([1, 2], [3, 4]);
  const withInput = (i: number, patch: Record<string, unknown>) => {
    const body = good();
    body.inputs[i] = { ...body.inputs[i], ...patch };
    return body;
  };
  const cases: [string, string, string, unknown, number, RegExp][] = [
    ['bad JSON', 'POST', '/v2/models/recommender/infer', '{"inputs": [', 400, /^the request body is not valid JSON: /],
    ['an empty body', 'POST', '/v2/models/recommender/infer', '', 400, /^the request body is empty: expected JSON$/],
    ['a body that is not an object', 'POST', '/v2/models/recommender/infer', [1, 2], 400, /^the request body must be a JSON object, got \[1,2\]$/],
    ['no inputs', 'POST', '/v2/models/recommender/infer', { id: 'x' }, 400, /^inputs must be an array, got nothing$/],
    [
      'a missing input',
      'POST',
      '/v2/models/recommender/infer',
      { inputs: [good().inputs[0]] },
      400,
      /missing input 'products': the model takes 'users', 'products', the batch has 'users'/,
    ],
    [
      'an unknown input',
      'POST',
      '/v2/models/recommender/infer',
      withInput(1, { name: 'items' }),
      400,
      /^model recommender version 1: it has no input 'items' \(inputs: 'users', 'products'\)$/,
    ],
    ['an input given twice', 'POST', '/v2/models/recommender/infer', withInput(1, { name: 'users' }), 400, /^input 'users' is given twice$/],
    [
      'a wrong shape',
      'POST',
      '/v2/models/recommender/infer',
      withInput(0, { shape: [2] }),
      400,
      /^model recommender version 1: input 'users' has shape \[2\] but the model expects \[\?,1\]$/,
    ],
    [
      'a negative dimension',
      'POST',
      '/v2/models/recommender/infer',
      withInput(0, { shape: [-2, 1] }),
      400,
      /^inputs\[0\]\.shape must be an array of whole numbers >= 0, got \[-2,1\]$/,
    ],
    [
      'data that does not fill the shape',
      'POST',
      '/v2/models/recommender/infer',
      withInput(0, { data: [1, 2, 3] }),
      400,
      /^input 'users' has 3 values in "data" but its shape \[2,1\] holds 2$/,
    ],
    [
      'a wrong datatype',
      'POST',
      '/v2/models/recommender/infer',
      withInput(0, { datatype: 'FP64' }),
      400,
      /^model recommender version 1: input 'users' is FP64 but the model expects FP32$/,
    ],
    [
      'an unsupported datatype',
      'POST',
      '/v2/models/recommender/infer',
      withInput(0, { datatype: 'FP16' }),
      400,
      /^tensor 'users': datatype FP16 is not supported \(supported: BOOL, UINT8, INT32, INT64, FP32, FP64, BYTES\)$/,
    ],
    [
      'an unknown datatype',
      'POST',
      '/v2/models/recommender/infer',
      withInput(0, { datatype: 'FLOAT' }),
      400,
      /^input 'users' has datatype 'FLOAT', which the Open Inference Protocol does not define/,
    ],
    [
      'a value of the wrong type',
      'POST',
      '/v2/models/recommender/infer',
      withInput(0, { data: [1, 'two'] }),
      400,
      /^input 'users' data\[1\] is "two", expected a number$/,
    ],
    [
      'inputs with different rows',
      'POST',
      '/v2/models/recommender/infer',
      withInput(1, { shape: [1, 1], data: [3] }),
      400,
      /inputs must have the same number of rows: 'users' has 2, 'products' has 1$/,
    ],
    [
      'an unknown output',
      'POST',
      '/v2/models/recommender/infer',
      { ...good(), outputs: [{ name: 'scores' }] },
      400,
      /it has no output 'scores' \(outputs: 'predictions'\)$/,
    ],
    ['an id that is not a string', 'POST', '/v2/models/recommender/infer', { ...good(), id: 7 }, 400, /^id must be a string, got 7$/],
    [
      'binary tensor data',
      'POST',
      '/v2/models/recommender/infer',
      withInput(0, { parameters: { binary_data_size: 8 } }),
      400,
      /binary tensor data is not supported over REST/,
    ],
    ['an unknown model', 'POST', '/v2/models/nope/infer', good(), 404, /^model nope not found$/],
    ['an unknown version', 'POST', '/v2/models/recommender/versions/7/infer', good(), 404, /^model recommender has no version 7 to serve: served: 1$/],
    ['a version that is not a number', 'GET', '/v2/models/recommender/versions/latest', undefined, 404, /versions are whole numbers; served: 1$/],
    ['metadata of an unknown model', 'GET', '/v2/models/nope', undefined, 404, /^model nope not found$/],
    ['a method not allowed', 'GET', '/v2/models/recommender/infer', undefined, 405, /^GET is not allowed on \/v2\/models\/recommender\/infer; allowed: POST$/],
    ['an unknown path', 'GET', '/v3/models', undefined, 404, /^no endpoint GET \/v3\/models$/],
    [
      'an oversized body',
      'POST',
      '/v2/models/recommender/infer',
      oipBody(new Array(20_000).fill(1), new Array(20_000).fill(1)),
      413,
      /^request body exceeds the limit of 65536 bytes$/,
    ],
  ];

  it.each(cases)('%s', async (_what, method, path, body, status, message) => {
    const reply = await client.request(method, path, body);
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json()).toEqual({ error: expect.stringMatching(message) });
    if (status === 405) expect(reply.headers.allow).toBe('POST');
    await expectGoodInference();
  });

  it('refuses an oversized body sent in chunks, without a length, as soon as it passes the limit', async () => {
    async function* chunks() {
      for (let i = 0; i < 100; i++) yield Buffer.alloc(1024, 0x20);
    }
    const reply = await request(`${server.urls.http}/v2/models/recommender/infer`, { method: 'POST', body: Readable.from(chunks()) });
    expect([reply.statusCode, await reply.body.json()]).toEqual([413, { error: 'request body exceeds the limit of 65536 bytes' }]);
    await expectGoodInference();
  });

  it('counts every answer by protocol, model and status in /metrics', async () => {
    const metrics = await client.get('/metrics');
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/sluice_server_requests_total\{protocol="open-inference-rest",model="recommender",code="200"\} \d+/);
    expect(metrics.text).toMatch(/sluice_server_requests_total\{protocol="open-inference-rest",model="recommender",code="400"\} \d+/);
    // Unknown model names never become label values.
    expect(metrics.text).not.toMatch(/model="nope"/);
    expect(metrics.text).toMatch(/sluice_server_request_duration_seconds_bucket\{le="0.005",protocol="open-inference-rest",model="recommender"\} \d+/);
  });
});
