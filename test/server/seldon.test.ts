/**
 * Seldon Core 1 REST predictions, called for real over loopback: ndarray and tensor payloads,
 * the model chosen by the `seldon` header, the Seldon ingress path or the server's default,
 * answers checked against the executor, and Seldon's error body for every bad request.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../../src/server/server.js';
import { onnxBytes, quietLog, recommenderA, recommenderB, referenceScores, RestClient, tempRepository, writeVersion } from './support.js';

let repository: string;
let server: ModelServer;
let client: RestClient;
const users = [3, 33, 333];
const products = [9, 99, 199];
const ndarray = users.map((u, i) => [u, products[i]]);

beforeAll(async () => {
  repository = await tempRepository();
  await writeVersion(repository, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
  await writeVersion(repository, 'challenger', 1, 'model.onnx', onnxBytes(recommenderB));
  server = await startModelServer({ models: repository, httpPort: 0, grpcPort: 0, seldonModel: 'recommender', log: quietLog });
  client = new RestClient(server.urls.http);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

function expectScores(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
}

describe('predictions', () => {
  it('scores an ndarray with the default model, one column per input', async () => {
    const reply = await client.post('/api/v1.0/predictions', { data: { ndarray } });
    expect(reply.status).toBe(200);
    const body = reply.json();
    expect(body.data.names).toEqual(['predictions']);
    expect(body.meta).toEqual({ requestPath: { recommender: '1' } });
    expectScores((body.data.ndarray as number[][]).flat(), await referenceScores(recommenderA, users, products));
  });

  it('picks the model named by the seldon header, and answers a tensor with a tensor', async () => {
    const values = products.flatMap((p, i) => [p, users[i] as number]);
    const reply = await client.post(
      '/api/v1.0/predictions',
      { data: { names: ['products', 'users'], tensor: { shape: [3, 2], values } } },
      { seldon: 'challenger', namespace: 'prod' },
    );
    expect(reply.status).toBe(200);
    const body = reply.json();
    expect(body.data.tensor.shape).toEqual([3, 1]);
    expect(body.meta.requestPath).toEqual({ challenger: '1' });
    expectScores(body.data.tensor.values, await referenceScores(recommenderB, users, products));
  });

  it('picks the model named by the Seldon ingress path', async () => {
    const reply = await client.post('/seldon/prod/challenger/api/v1.0/predictions', { data: { ndarray } });
    expect(reply.json().meta.requestPath).toEqual({ challenger: '1' });
    expectScores((reply.json().data.ndarray as number[][]).flat(), await referenceScores(recommenderB, users, products));
  });
});

describe('metadata', () => {
  it('describes a model in its Open Inference form', async () => {
    expect((await client.get('/api/v1.0/metadata/challenger')).json()).toEqual({
      name: 'challenger',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'users', datatype: 'FP32', shape: [-1, 1] },
        { name: 'products', datatype: 'FP32', shape: [-1, 1] },
      ],
      outputs: [{ name: 'predictions', datatype: 'FP32', shape: [-1, 1] }],
    });
    const unknown = await client.get('/api/v1.0/metadata/nope');
    expect([unknown.status, unknown.json()]).toEqual([
      404,
      { status: { code: 404, info: 'model nope not found', reason: 'SLUICE_ERR_MODEL_NOT_FOUND', status: 'FAILURE' } },
    ]);
  });
});

describe('bad requests get Seldon error bodies, and the server serves on', () => {
  const cases: [string, string, unknown, Record<string, string>, number, string, RegExp][] = [
    ['bad JSON', '/api/v1.0/predictions', '{"data":', {}, 400, 'SLUICE_ERR_INVALID_ARGUMENT', /^the request body is not valid JSON/],
    ['no data', '/api/v1.0/predictions', { meta: {} }, {}, 400, 'SLUICE_ERR_INVALID_ARGUMENT', /^data must be a JSON object, got nothing$/],
    [
      'neither ndarray nor tensor',
      '/api/v1.0/predictions',
      { data: { names: [] } },
      {},
      400,
      'SLUICE_ERR_INVALID_ARGUMENT',
      /^data must have "ndarray" or "tensor"$/,
    ],
    [
      'a strData payload',
      '/api/v1.0/predictions',
      { strData: 'x', data: { strData: 'hello' } },
      {},
      400,
      'SLUICE_ERR_INVALID_ARGUMENT',
      /^data\.strData payloads are not supported/,
    ],
    [
      'a wrong number of columns',
      '/api/v1.0/predictions',
      { data: { ndarray: [[1, 2, 3]] } },
      {},
      400,
      'SLUICE_ERR_INVALID_ARGUMENT',
      /it takes 2 inputs \(users, products\): send a \[rows, 2\] array, one column per input .* not shape \[1,3\]$/,
    ],
    [
      'a column name the model does not take',
      '/api/v1.0/predictions',
      { data: { names: ['users', 'items'], ndarray: [[1, 2]] } },
      {},
      400,
      'SLUICE_ERR_INVALID_ARGUMENT',
      /it has no input 'items'/,
    ],
    [
      'a tensor whose values do not fill its shape',
      '/api/v1.0/predictions',
      { data: { tensor: { shape: [2, 2], values: [1, 2, 3] } } },
      {},
      400,
      'SLUICE_ERR_INVALID_ARGUMENT',
      /^data\.tensor has 3 values but its shape \[2,2\] holds 4$/,
    ],
    [
      'a value of the wrong type',
      '/api/v1.0/predictions',
      { data: { ndarray: [[1, true]] } },
      {},
      400,
      'SLUICE_ERR_INVALID_ARGUMENT',
      /^data column 1 \('products'\)\[0\] is true, expected a number$/,
    ],
    [
      'an unknown model in the header',
      '/api/v1.0/predictions',
      { data: { ndarray } },
      { seldon: 'nope' },
      404,
      'SLUICE_ERR_MODEL_NOT_FOUND',
      /^model nope not found$/,
    ],
    [
      'an unknown deployment in the path',
      '/seldon/prod/nope/api/v1.0/predictions',
      { data: { ndarray } },
      {},
      404,
      'SLUICE_ERR_MODEL_NOT_FOUND',
      /^model nope not found$/,
    ],
  ];

  it.each(cases)('%s', async (_what, path, body, headers, code, reason, message) => {
    const reply = await client.post(path, body, headers);
    expect(reply.status).toBe(code);
    expect(reply.json()).toEqual({ status: { code, info: expect.stringMatching(message), reason, status: 'FAILURE' } });
    expect((await client.post('/api/v1.0/predictions', { data: { ndarray: [[1, 2]] } })).status).toBe(200);
  });
});

describe('without a default model', () => {
  it('asks which model when the repository has several', async () => {
    const other = await startModelServer({ models: repository, httpPort: 0, grpcPort: 0, log: quietLog });
    const otherClient = new RestClient(other.urls.http);
    try {
      const reply = await otherClient.post('/api/v1.0/predictions', { data: { ndarray } });
      expect(reply.status).toBe(400);
      expect(reply.json().status.info).toBe(
        "no model chosen: the repository serves 2 models (challenger, recommender); name one with the 'seldon' header, " +
          'the path /seldon/<namespace>/<model>/api/v1.0/predictions, or start the server with --seldon-model',
      );
    } finally {
      await otherClient.close();
      await other.close();
    }
  });
});
