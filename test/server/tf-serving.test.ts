/**
 * TensorFlow Serving's API, REST and gRPC, called for real over loopback: `:predict` in row and
 * columnar form, model status and metadata over REST; `PredictionService/Predict` (typed values
 * and tensor_content) and `ModelService/GetModelStatus` from a client built only from the
 * project's .proto files. Outputs are checked against the executor called directly.
 */
import { rm } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../../src/server/server.js';
import {
  modelServiceClient,
  onnxBytes,
  predictionClient,
  quietLog,
  rawFloats,
  recommenderA,
  recommenderB,
  referenceScores,
  RestClient,
  tempRepository,
  writeVersion,
  type ProtoClient,
} from './support.js';

let repository: string;
let server: ModelServer;
let rest: RestClient;
let prediction: ProtoClient;
let modelService: ProtoClient;
const users = [10, 20, 30];
const products = [1, 2, 3];

beforeAll(async () => {
  repository = await tempRepository();
  await writeVersion(repository, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
  await writeVersion(repository, 'recommender', 2, 'model.onnx', onnxBytes(recommenderB));
  server = await startModelServer({ models: repository, httpPort: 0, grpcPort: 0, versionsServed: 2, log: quietLog });
  rest = new RestClient(server.urls.http);
  prediction = predictionClient(server.urls.grpc);
  modelService = modelServiceClient(server.urls.grpc);
});

afterAll(async () => {
  prediction?.close();
  modelService?.close();
  await rest?.close();
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

function expectScores(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
}

describe('REST', () => {
  it('predicts rows from "instances" with the newest version', async () => {
    const reply = await rest.post('/v1/models/recommender:predict', {
      signature_name: 'serving_default',
      instances: users.map((u, i) => ({ users: [u], products: [products[i]] })),
    });
    expect(reply.status).toBe(200);
    const predictions = reply.json().predictions as number[][];
    expect(predictions.every((row) => row.length === 1)).toBe(true);
    expectScores(predictions.flat(), await referenceScores(recommenderB, users, products));
  });

  it('predicts columns from "inputs" with a named version', async () => {
    const reply = await rest.post('/v1/models/recommender/versions/1:predict', {
      inputs: { users: users.map((u) => [u]), products: products.map((p) => [p]) },
    });
    expect(reply.status).toBe(200);
    expectScores((reply.json().outputs as number[][]).flat(), await referenceScores(recommenderA, users, products));
  });

  it('gives the status of every version, and of one', async () => {
    const available = (version: string) => ({ version, state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } });
    expect((await rest.get('/v1/models/recommender')).json()).toEqual({ model_version_status: [available('2'), available('1')] });
    expect((await rest.get('/v1/models/recommender/versions/1')).json()).toEqual({ model_version_status: [available('1')] });
  });

  it('gives the serving_default signature', async () => {
    const body = (await rest.get('/v1/models/recommender/versions/2/metadata')).json();
    expect(body.model_spec).toEqual({ name: 'recommender', signature_name: '', version: '2' });
    const signature = body.metadata.signature_def.signature_def.serving_default;
    expect(signature.method_name).toBe('tensorflow/serving/predict');
    expect(signature.inputs.users).toEqual({
      dtype: 'DT_FLOAT',
      tensor_shape: {
        dim: [
          { size: '-1', name: '' },
          { size: '1', name: '' },
        ],
        unknown_rank: false,
      },
      name: 'users',
    });
    expect(Object.keys(signature.outputs)).toEqual(['predictions']);
  });

  const cases: [string, string, string, unknown, number, RegExp][] = [
    ['bad JSON', 'POST', '/v1/models/recommender:predict', '{instances', 400, /^the request body is not valid JSON/],
    [
      'neither instances nor inputs',
      'POST',
      '/v1/models/recommender:predict',
      { signature_name: 'serving_default' },
      400,
      /must have one of "instances" \(rows\) or "inputs" \(columns\)$/,
    ],
    [
      'both instances and inputs',
      'POST',
      '/v1/models/recommender:predict',
      { instances: [], inputs: {} },
      400,
      /must have either "instances" \(rows\) or "inputs" \(columns\), not both$/,
    ],
    [
      'an unknown signature',
      'POST',
      '/v1/models/recommender:predict',
      { signature_name: 'classify', instances: [{ users: [1], products: [2] }] },
      400,
      /^signature_name 'classify' is not served: model recommender has one signature, 'serving_default'$/,
    ],
    ['empty instances', 'POST', '/v1/models/recommender:predict', { instances: [] }, 400, /^"instances" is empty/],
    [
      'bare rows for a two-input model',
      'POST',
      '/v1/models/recommender:predict',
      { instances: [[1], [2]] },
      400,
      /takes 2 inputs \(users, products\): each instance must be an object naming them$/,
    ],
    [
      'an instance missing an input',
      'POST',
      '/v1/models/recommender:predict',
      { instances: [{ users: [1], products: [2] }, { users: [3] }] },
      400,
      /^instances\[1\] has no 'products'/,
    ],
    ['an unknown input', 'POST', '/v1/models/recommender:predict', { inputs: { users: [[1]], products: [[2]], items: [[3]] } }, 400, /it has no input 'items'/],
    [
      'a ragged array',
      'POST',
      '/v1/models/recommender:predict',
      { inputs: { users: [[1], [2, 3]], products: [[1], [2]] } },
      400,
      /^inputs\.users\[1\] has 2 elements where 1 were expected \(ragged array\)$/,
    ],
    [
      'a wrong shape',
      'POST',
      '/v1/models/recommender:predict',
      { inputs: { users: [1, 2], products: [[1], [2]] } },
      400,
      /input 'users' has shape \[2\] but the model expects \[\?,1\]$/,
    ],
    [
      'a value of the wrong type',
      'POST',
      '/v1/models/recommender:predict',
      { inputs: { users: [[1], ['x']], products: [[1], [2]] } },
      400,
      /^inputs\.users\[1\] is "x", expected a number$/,
    ],
    ['an unknown model', 'POST', '/v1/models/nope:predict', { instances: [] }, 404, /^model nope not found$/],
    [
      'an unknown version',
      'POST',
      '/v1/models/recommender/versions/5:predict',
      { instances: [] },
      404,
      /^model recommender has no version 5 to serve: served: 2, 1$/,
    ],
    [
      'status of an unknown version',
      'GET',
      '/v1/models/recommender/versions/5',
      undefined,
      404,
      /^model recommender has no version 5 to serve: the repository has no such version folder$/,
    ],
    [
      'a method not allowed',
      'GET',
      '/v1/models/recommender:predict',
      undefined,
      405,
      /^GET is not allowed on \/v1\/models\/recommender:predict; allowed: POST$/,
    ],
  ];

  it.each(cases)('answers %s with its error, then serves on', async (_what, method, path, body, code, message) => {
    const reply = await rest.request(method, path, body);
    expect(reply.status).toBe(code);
    expect(reply.json()).toEqual({ error: expect.stringMatching(message) });
    const good = await rest.post('/v1/models/recommender:predict', { instances: [{ users: [1], products: [2] }] });
    expect(good.status).toBe(200);
  });
});

describe('gRPC', () => {
  const tensorProto = (values: readonly number[]) => ({
    dtype: 'DT_FLOAT',
    tensor_shape: { dim: [{ size: values.length }, { size: 1 }] },
    float_val: values,
  });

  it('predicts from float_val inputs, as the reference client sends them', async () => {
    const reply = await prediction.call('Predict', {
      model_spec: { name: 'recommender', signature_name: 'serving_default' },
      inputs: { users: tensorProto(users), products: tensorProto(products) },
    });
    expect(reply.model_spec).toMatchObject({ name: 'recommender', version: { value: '2' }, signature_name: 'serving_default' });
    const output = reply.outputs.predictions;
    expect(output.dtype).toBe('DT_FLOAT');
    expect(output.tensor_shape.dim.map((d: { size: string }) => d.size)).toEqual(['3', '1']);
    expectScores(output.float_val, await referenceScores(recommenderB, users, products));
  });

  it('predicts from tensor_content inputs with a named version', async () => {
    const content = (values: readonly number[]) => ({
      dtype: 'DT_FLOAT',
      tensor_shape: { dim: [{ size: values.length }, { size: 1 }] },
      tensor_content: rawFloats(values),
    });
    const reply = await prediction.call('Predict', {
      model_spec: { name: 'recommender', version: { value: 1 } },
      inputs: { users: content(users), products: content(products) },
      output_filter: ['predictions'],
    });
    expect(reply.model_spec.version).toEqual({ value: '1' });
    expectScores(reply.outputs.predictions.float_val, await referenceScores(recommenderA, users, products));
  });

  it('gives model status through ModelService', async () => {
    const reply = await modelService.call('GetModelStatus', { model_spec: { name: 'recommender' } });
    expect(reply.model_version_status).toEqual([
      { version: '2', state: 'AVAILABLE', status: { error_code: 0, error_message: '' } },
      { version: '1', state: 'AVAILABLE', status: { error_code: 0, error_message: '' } },
    ]);
  });

  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['no model name', { inputs: {} }, 'INVALID_ARGUMENT', /^model_spec\.name is missing/],
    ['an unknown model', { model_spec: { name: 'nope' } }, 'NOT_FOUND', /^model nope not found$/],
    ['an unknown version', { model_spec: { name: 'recommender', version: { value: 9 } } }, 'NOT_FOUND', /has no version 9 to serve/],
    [
      'a version label',
      { model_spec: { name: 'recommender', version_label: 'stable' } },
      'INVALID_ARGUMENT',
      /^model_spec\.version_label 'stable' is not supported/,
    ],
    [
      'an unknown signature',
      { model_spec: { name: 'recommender', signature_name: 'other' }, inputs: {} },
      'INVALID_ARGUMENT',
      /^signature_name 'other' is not served/,
    ],
    [
      'a wrong dtype',
      {
        model_spec: { name: 'recommender' },
        inputs: { users: { ...tensorProto(users), dtype: 'DT_DOUBLE', float_val: [], double_val: users }, products: tensorProto(products) },
      },
      'INVALID_ARGUMENT',
      /input 'users' is DT_DOUBLE but the model expects DT_FLOAT$/,
    ],
    [
      'values that do not fill the shape',
      { model_spec: { name: 'recommender' }, inputs: { users: { ...tensorProto(users), float_val: [1, 2] }, products: tensorProto(products) } },
      'INVALID_ARGUMENT',
      /^input 'users' has 2 values in float_val but its shape \[3,1\] holds 3$/,
    ],
    ['a missing input', { model_spec: { name: 'recommender' }, inputs: { users: tensorProto(users) } }, 'INVALID_ARGUMENT', /missing input 'products'/],
    [
      'an unknown output',
      { model_spec: { name: 'recommender' }, inputs: { users: tensorProto(users), products: tensorProto(products) }, output_filter: ['x'] },
      'INVALID_ARGUMENT',
      /it has no output 'x'/,
    ],
  ];

  it.each(cases)('answers %s with its status, then serves on', async (_what, request, code, message) => {
    const error = await prediction.failure('Predict', request);
    expect(status[error.code]).toBe(code);
    expect(error.details).toMatch(message);
    const good = await prediction.call('Predict', { model_spec: { name: 'recommender' }, inputs: { users: tensorProto([1]), products: tensorProto([2]) } });
    expect(good.outputs.predictions.float_val).toHaveLength(1);
  });
});
