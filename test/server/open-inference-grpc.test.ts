/**
 * Open Inference Protocol over gRPC (`inference.GRPCInferenceService`), called by a client built
 * only from protos/inference/grpc_predict_v2.proto with @grpc/proto-loader: typed contents and
 * raw contents both score like the executor called directly; every bad request gets its status.
 */
import { rm } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../../src/server/server.js';
import {
  floatsOf,
  onnxBytes,
  openInferenceClient,
  quietLog,
  rawFloats,
  recommenderA,
  referenceScores,
  tempRepository,
  writeVersion,
  type ProtoClient,
} from './support.js';

let repository: string;
let server: ModelServer;
let client: ProtoClient;
const users = [1, 500, 999];
const products = [299, 7, 42];

function typedRequest(u: readonly number[] = users, p: readonly number[] = products): Record<string, unknown> {
  return {
    model_name: 'recommender',
    inputs: [
      { name: 'users', datatype: 'FP32', shape: [u.length, 1], contents: { fp32_contents: u } },
      { name: 'products', datatype: 'FP32', shape: [p.length, 1], contents: { fp32_contents: p } },
    ],
  };
}

function rawRequest(u: readonly number[] = users, p: readonly number[] = products): Record<string, unknown> {
  return {
    model_name: 'recommender',
    model_version: '2',
    id: 'raw-1',
    inputs: [
      { name: 'users', datatype: 'FP32', shape: [u.length, 1] },
      { name: 'products', datatype: 'FP32', shape: [p.length, 1] },
    ],
    raw_input_contents: [rawFloats(u), rawFloats(p)],
  };
}

beforeAll(async () => {
  repository = await tempRepository();
  await writeVersion(repository, 'recommender', 2, 'model.onnx', onnxBytes(recommenderA));
  server = await startModelServer({ models: repository, httpPort: 0, grpcPort: 0, maxRequestBytes: 64 * 1024, log: quietLog });
  client = openInferenceClient(server.urls.grpc);
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

async function expectGoodCall(): Promise<void> {
  const reply = await client.call('ModelInfer', typedRequest([3], [4]));
  expect(reply.outputs[0].contents.fp32_contents[0]).toBeCloseTo((await referenceScores(recommenderA, [3], [4]))[0] as number, 6);
}

describe('server and model endpoints', () => {
  it('answers live, ready and server metadata', async () => {
    expect(await client.call('ServerLive', {})).toEqual({ live: true });
    expect(await client.call('ServerReady', {})).toEqual({ ready: true });
    expect(await client.call('ServerMetadata', {})).toEqual({ name: 'sluice', version: expect.any(String), extensions: ['model_repository'] });
  });

  it('answers model readiness and metadata', async () => {
    expect(await client.call('ModelReady', { name: 'recommender' })).toEqual({ ready: true });
    expect(await client.call('ModelReady', { name: 'recommender', version: '1' })).toEqual({ ready: false });
    expect(await client.call('ModelMetadata', { name: 'recommender', version: '2' })).toEqual({
      name: 'recommender',
      versions: ['2'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'users', datatype: 'FP32', shape: ['-1', '1'] },
        { name: 'products', datatype: 'FP32', shape: ['-1', '1'] },
      ],
      outputs: [{ name: 'predictions', datatype: 'FP32', shape: ['-1', '1'] }],
    });
  });
});

describe('ModelInfer', () => {
  it('scores typed contents like the executor, answering in contents', async () => {
    const reply = await client.call('ModelInfer', typedRequest());
    expect(reply).toMatchObject({ model_name: 'recommender', model_version: '2', raw_output_contents: [] });
    expect(reply.outputs[0]).toMatchObject({ name: 'predictions', datatype: 'FP32', shape: ['3', '1'] });
    const expected = await referenceScores(recommenderA, users, products);
    reply.outputs[0].contents.fp32_contents.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i] as number, 6));
  });

  it('scores raw_input_contents like the executor, answering in raw_output_contents', async () => {
    const reply = await client.call('ModelInfer', rawRequest());
    expect(reply).toMatchObject({ model_name: 'recommender', model_version: '2', id: 'raw-1' });
    expect(reply.outputs[0]).toMatchObject({ name: 'predictions', datatype: 'FP32', shape: ['3', '1'], contents: null });
    expect(reply.raw_output_contents).toHaveLength(1);
    const expected = await referenceScores(recommenderA, users, products);
    floatsOf(reply.raw_output_contents[0]).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
  });
});

describe('bad requests get their gRPC status, and the server serves on', () => {
  const cases: [string, Record<string, unknown>, status, RegExp][] = [
    ['an unknown model', { ...typedRequest(), model_name: 'nope' }, status.NOT_FOUND, /^model nope not found$/],
    ['an unknown version', { ...typedRequest(), model_version: '9' }, status.NOT_FOUND, /^model recommender has no version 9 to serve: served: 2$/],
    ['a missing input', { ...typedRequest(), inputs: [(typedRequest().inputs as object[])[0]] }, status.INVALID_ARGUMENT, /missing input 'products'/],
    [
      'a wrong shape',
      {
        ...typedRequest(),
        inputs: [{ name: 'users', datatype: 'FP32', shape: [3], contents: { fp32_contents: users } }, (typedRequest().inputs as object[])[1]],
      },
      status.INVALID_ARGUMENT,
      /input 'users' has shape \[3\] but the model expects \[\?,1\]$/,
    ],
    [
      'a wrong datatype',
      {
        ...typedRequest(),
        inputs: [{ name: 'users', datatype: 'INT64', shape: [3, 1], contents: { int64_contents: users } }, (typedRequest().inputs as object[])[1]],
      },
      status.INVALID_ARGUMENT,
      /input 'users' is INT64 but the model expects FP32$/,
    ],
    [
      'an unsupported datatype',
      { ...typedRequest(), inputs: [{ name: 'users', datatype: 'UINT16', shape: [3, 1] }, (typedRequest().inputs as object[])[1]] },
      status.INVALID_ARGUMENT,
      /^tensor 'users': datatype UINT16 is not supported/,
    ],
    [
      'contents that do not fill the shape',
      {
        ...typedRequest(),
        inputs: [{ name: 'users', datatype: 'FP32', shape: [3, 1], contents: { fp32_contents: [1] } }, (typedRequest().inputs as object[])[1]],
      },
      status.INVALID_ARGUMENT,
      /^input 'users' has 1 values in contents\.fp32_contents but its shape holds 3/,
    ],
    [
      'raw contents of the wrong size',
      { ...rawRequest(), raw_input_contents: [rawFloats([1, 2]), rawFloats(products)] },
      status.INVALID_ARGUMENT,
      /^input 'users' has 8 bytes of raw content, but its shape and datatype need 12 \(3 × 4\)$/,
    ],
    [
      'raw contents for fewer inputs',
      { ...rawRequest(), raw_input_contents: [rawFloats(users)] },
      status.INVALID_ARGUMENT,
      /^raw_input_contents has 1 entries but there are 2 inputs/,
    ],
    ['an unknown output', { ...typedRequest(), outputs: [{ name: 'scores' }] }, status.INVALID_ARGUMENT, /it has no output 'scores'/],
    ['metadata of an unknown model', { name: 'nope' }, status.NOT_FOUND, /^model nope not found$/],
  ];

  it.each(cases)('%s', async (what, request, code, message) => {
    const method = what.startsWith('metadata') ? 'ModelMetadata' : 'ModelInfer';
    const error = await client.failure(method, request);
    expect(status[error.code]).toBe(status[code]);
    expect(error.details).toMatch(message);
    await expectGoodCall();
  });

  it('refuses a message over the size limit with RESOURCE_EXHAUSTED', async () => {
    const many = new Array(20_000).fill(1);
    const error = await client.failure('ModelInfer', rawRequest(many, many));
    expect(status[error.code]).toBe('RESOURCE_EXHAUSTED');
    await expectGoodCall();
  });

  it('answers ModelReady for an unknown model with NOT_FOUND', async () => {
    const error = await client.failure('ModelReady', { name: 'nope' });
    expect([status[error.code], error.details]).toEqual(['NOT_FOUND', 'model nope not found']);
  });
});
