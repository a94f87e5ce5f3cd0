/**
 * Every protocol × transport called for real over loopback, against test servers written from
 * the wire protocols: the signature is read at load, a batch goes as one request, the answer is
 * checked number by number, server errors become rejected calls that name the endpoint and what
 * the server said.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { isSluiceError } from '../../../src/core/errors.js';
import type { LoadedModel } from '../../../src/serving/executor.js';
import { defaultExecutors } from '../../../src/serving/executors/index.js';
import type { RemoteModelType } from '../../../src/serving/remote/location.js';
import { tensor, type NamedTensors, type Tensor } from '../../../src/serving/tensor.js';
import { startGrpcServer, startRestServer, type TestServer } from './servers.js';
import { expectedScores, rejection, remoteDescriptor, scorerInputs } from './support.js';

const servers: TestServer[] = [];
const models: LoadedModel[] = [];
afterEach(async () => {
  await Promise.all(models.splice(0).map((m) => m.unload()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const executors = defaultExecutors();
async function load(type: RemoteModelType, location: string): Promise<LoadedModel> {
  const model = await executors.load(remoteDescriptor(type, location));
  models.push(model);
  return model;
}
async function server(start: () => Promise<TestServer>): Promise<TestServer> {
  const s = await start();
  servers.push(s);
  return s;
}

const declaredScorer = 'inputs=users:float32[?,1],products:float32[?,1]&outputs=predictions:float32[?,1]';
const scorerSignature = {
  inputs: [
    { name: 'users', dtype: 'float32', shape: [-1, 1] },
    { name: 'products', dtype: 'float32', shape: [-1, 1] },
  ],
  outputs: [{ name: 'predictions', dtype: 'float32', shape: [-1, 1] }],
};

interface Case {
  readonly name: string;
  readonly type: RemoteModelType;
  readonly scheme: 'http' | 'grpc';
  readonly start: () => Promise<TestServer>;
  /** Options the location needs (TF Serving over gRPC declares its signature). */
  readonly options?: string;
  /** Whether load probes the server with an inference (declared signature) instead of asking for metadata. */
  readonly probes?: boolean;
  /** The status a test server answers a bad request with. */
  readonly badRequest: { code: number; shown: string };
}

const cases: readonly Case[] = [
  { name: 'Open Inference REST', type: 'OPEN_INFERENCE', scheme: 'http', start: () => startRestServer(), badRequest: { code: 400, shown: 'HTTP 400' } },
  {
    name: 'Open Inference gRPC',
    type: 'OPEN_INFERENCE',
    scheme: 'grpc',
    start: () => startGrpcServer(),
    badRequest: { code: status.INVALID_ARGUMENT, shown: 'gRPC INVALID_ARGUMENT' },
  },
  { name: 'TensorFlow Serving REST', type: 'TENSORFLOW_SERVING', scheme: 'http', start: () => startRestServer(), badRequest: { code: 400, shown: 'HTTP 400' } },
  {
    name: 'TensorFlow Serving gRPC',
    type: 'TENSORFLOW_SERVING',
    scheme: 'grpc',
    start: () => startGrpcServer(),
    options: declaredScorer,
    probes: true,
    badRequest: { code: status.INVALID_ARGUMENT, shown: 'gRPC INVALID_ARGUMENT' },
  },
  { name: 'Seldon REST', type: 'SELDON', scheme: 'http', start: () => startRestServer(), badRequest: { code: 400, shown: 'HTTP 400' } },
];

describe.each(cases)('$name', (c) => {
  const location = (s: TestServer, model: string, extra = '') => {
    const query = [c.options, extra].filter(Boolean).join('&');
    return `${c.scheme}://${s.address}/${model}${query ? `?${query}` : ''}`;
  };

  it('reads the signature at load and scores a batch in one request, value for value', async () => {
    const s = await server(c.start);
    const model = await load(c.type, location(s, 'scorer'));
    expect(model.metadata()).toEqual(scorerSignature);
    const before = s.inferences();
    const inputs = scorerInputs(37, 1);
    const outputs = await model.infer(inputs);
    expect(s.inferences() - before).toBe(1);
    const predictions = outputs.predictions as Tensor<'float32'>;
    expect(predictions.dtype).toBe('float32');
    expect(predictions.shape).toEqual([37, 1]);
    expect(Array.from(predictions.data)).toEqual(expectedScores(inputs));
  });

  it('answers zero rows with zero rows, without a request', async () => {
    const s = await server(c.start);
    const model = await load(c.type, location(s, 'scorer'));
    const before = s.inferences();
    const outputs = await model.infer(scorerInputs(0));
    expect(outputs.predictions?.shape).toEqual([0, 1]);
    expect(s.inferences()).toBe(before);
  });

  it('splits a batch above max-rows into concurrent requests and joins the answers in order', async () => {
    const s = await server(c.start);
    const model = await load(c.type, location(s, 'scorer', 'max-rows=10'));
    const before = s.inferences();
    const inputs = scorerInputs(35, 2);
    const outputs = await model.infer(inputs);
    expect(s.inferences() - before).toBe(4);
    expect(Array.from(outputs.predictions?.data as Float32Array)).toEqual(expectedScores(inputs));
  });

  it('rejects the load of a model the server does not know, naming the endpoint and its answer', async () => {
    const s = await server(c.start);
    const err = await rejection(load(c.type, location(s, 'no-such-model')));
    expect(isSluiceError(err, 'SLUICE_ERR_MODEL_INVALID')).toBe(true);
    expect(err.message).toContain(`${c.scheme}://${s.address}`);
    expect(err.message).toMatch(/no-such-model/);
    expect(err.message).toMatch(c.scheme === 'http' ? /HTTP 404/ : /gRPC NOT_FOUND/);
  });

  it("rejects an inference the server refuses, with the endpoint, the status and the server's message, without retrying", async () => {
    const s = await server(c.start);
    const model = await load(c.type, location(s, 'scorer'));
    s.failure = { code: c.badRequest.code, message: 'tensor users has the wrong shape' };
    const before = s.inferences();
    const err = await rejection(model.infer(scorerInputs(3)));
    expect(isSluiceError(err, 'SLUICE_ERR_INFERENCE_FAILED')).toBe(true);
    expect(err.message).toContain(`inference with model remote-model failed: ${c.scheme}://${s.address}: ${c.badRequest.shown}`);
    expect(err.message).toContain('tensor users has the wrong shape');
    expect(s.inferences() - before).toBe(1);
  });

  it('checks the batch against the signature before sending it', async () => {
    const s = await server(c.start);
    const model = await load(c.type, location(s, 'scorer'));
    const before = s.inferences();
    const { users } = scorerInputs(2);
    const missing = await rejection(model.infer({ users: users as Tensor }));
    expect(missing.message).toContain("missing input 'products'");
    const wrongType = await rejection(model.infer({ users: users as Tensor, products: tensor('float64', [2, 1], new Float64Array(2)) }));
    expect(wrongType.message).toContain("input 'products' is float64 but the model expects float32");
    const uneven = await rejection(model.infer({ users: users as Tensor, products: tensor('float32', [3, 1], new Float32Array(3)) }));
    expect(uneven.message).toContain('the inputs disagree on the number of rows');
    expect(s.inferences()).toBe(before);
  });

  if (c.probes) {
    it('probes the declared signature at load: wrong tensor names reject the update', async () => {
      const s = await server(c.start);
      const wrong = `${c.scheme}://${s.address}/scorer?inputs=user:float32[?,1],product:float32[?,1]&outputs=predictions:float32[?,1]`;
      const err = await rejection(load(c.type, wrong));
      expect(isSluiceError(err, 'SLUICE_ERR_MODEL_INVALID')).toBe(true);
      expect(err.message).toContain('the probe with the declared signature failed');
      expect(err.message).toContain("scorer needs inputs 'users' and 'products'");
    });
  }
});

describe('wire details', () => {
  it('Open Inference gRPC sends raw_input_contents and reads raw or typed outputs alike', async () => {
    const s = await server(() => startGrpcServer());
    const model = await load('OPEN_INFERENCE', `grpc://${s.address}/scorer`);
    const inputs = scorerInputs(5, 3);
    const raw = await model.infer(inputs);
    const request = s.received.at(-1)?.body as { inputs: { contents: unknown; shape: string[] }[]; raw_input_contents: Buffer[] };
    expect(request.raw_input_contents).toHaveLength(2);
    expect(request.inputs.map((i) => i.contents)).toEqual([null, null]);
    expect(request.inputs.map((i) => i.shape)).toEqual([
      ['5', '1'],
      ['5', '1'],
    ]);
    s.typedOutputs = true;
    const typed = await model.infer(inputs);
    expect(Array.from(typed.predictions?.data as Float32Array)).toEqual(Array.from(raw.predictions?.data as Float32Array));
    expect(Array.from(typed.predictions?.data as Float32Array)).toEqual(expectedScores(inputs));
  });

  it('TensorFlow Serving gRPC sends the reference request: DT_FLOAT [n,1] users and products, signature serving_default, tensor_content', async () => {
    const s = await server(() => startGrpcServer());
    const model = await load('TENSORFLOW_SERVING', `grpc://${s.address}/scorer?version=7&${declaredScorer}`);
    const inputs = scorerInputs(4, 5);
    await model.infer(inputs);
    const request = s.received.at(-1)?.body as {
      model_spec: { name: string; signature_name: string; version: { value: string } };
      inputs: Record<string, { dtype: string; tensor_shape: { dim: { size: string }[] }; tensor_content: Buffer }>;
    };
    expect(request.model_spec).toMatchObject({ name: 'scorer', signature_name: 'serving_default', version: { value: '7' } });
    expect(Object.keys(request.inputs).sort()).toEqual(['products', 'users']);
    for (const name of ['users', 'products']) {
      const proto = request.inputs[name];
      expect(proto?.dtype).toBe('DT_FLOAT');
      expect(proto?.tensor_shape.dim.map((d) => d.size)).toEqual(['4', '1']);
      expect(Array.from(new Float32Array(new Uint8Array(proto?.tensor_content as Buffer).buffer))).toEqual(Array.from(inputs[name]?.data as Float32Array));
    }
    s.typedOutputs = true;
    const typed = await model.infer(inputs);
    expect(Array.from(typed.predictions?.data as Float32Array)).toEqual(expectedScores(inputs));
  });

  it('TensorFlow Serving REST sends the columnar form with the signature name and reads a bare output', async () => {
    const s = await server(() => startRestServer());
    const model = await load('TENSORFLOW_SERVING', `http://${s.address}/scorer?version=2`);
    const inputs = scorerInputs(3, 1);
    await model.infer(inputs);
    const last = s.received.at(-1);
    expect(last?.path).toBe('/v1/models/scorer/versions/2:predict');
    expect(last?.body).toEqual({
      signature_name: 'serving_default',
      inputs: { users: Array.from(inputs.users?.data as Float32Array, (v) => [v]), products: Array.from(inputs.products?.data as Float32Array, (v) => [v]) },
    });
  });

  it('Seldon sends the seldon and namespace headers and the inputs as named ndarray columns', async () => {
    const s = await server(() => startRestServer());
    const model = await load('SELDON', `http://${s.address}/scorer?namespace=models`);
    const inputs = scorerInputs(2, 4);
    await model.infer(inputs);
    const last = s.received.at(-1);
    expect(last?.path).toBe('/api/v1.0/predictions');
    expect(last?.headers).toMatchObject({ seldon: 'scorer', namespace: 'models' });
    const users = inputs.users?.data as Float32Array;
    const products = inputs.products?.data as Float32Array;
    expect(last?.body).toEqual({ data: { names: ['users', 'products'], ndarray: [0, 1].map((i) => [users[i], products[i]]) } });
  });

  it('sends seldon and namespace as gRPC metadata when the location names them', async () => {
    const s = await server(() => startGrpcServer());
    const model = await load('OPEN_INFERENCE', `grpc://${s.address}/scorer?seldon=recommender&namespace=prod`);
    await model.infer(scorerInputs(1));
    expect(s.received.at(-1)?.headers).toMatchObject({ seldon: 'recommender', namespace: 'prod' });
  });

  it('Open Inference REST addresses a version in the path', async () => {
    const s = await server(() => startRestServer());
    const model = await load('OPEN_INFERENCE', `http://${s.address}/scorer?version=3`);
    await model.infer(scorerInputs(1));
    expect(s.received.map((r) => r.path)).toEqual(['/v2/models/scorer/versions/3', '/v2/models/scorer/versions/3/infer']);
  });
});

/** x: [3,2] of each dtype, echoed back as y. */
const echoes: readonly { datatype: string; x: NamedTensors['x'] }[] = [
  { datatype: 'FP64', x: tensor('float64', [3, 2], Float64Array.from([0.1, -2.5, 1e300, 3, 4, 5])) },
  { datatype: 'INT32', x: tensor('int32', [3, 2], Int32Array.from([-1, 2, 2147483647, -2147483648, 0, 7])) },
  { datatype: 'INT64', x: tensor('int64', [3, 2], BigInt64Array.from([-1n, 2n, 9007199254740991n, -5n, 0n, 7n])) },
  { datatype: 'UINT8', x: tensor('uint8', [3, 2], Uint8Array.from([0, 1, 2, 253, 254, 255])) },
  { datatype: 'BOOL', x: tensor('bool', [3, 2], Uint8Array.from([1, 0, 0, 1, 1, 1])) },
  { datatype: 'BYTES', x: tensor('string', [3, 2], ['a', '', 'é✓', 'longer text', 'x', 'y']) },
];

describe.each(echoes)('dtype $datatype', ({ datatype, x }) => {
  const transports: readonly (readonly [string, RemoteModelType, () => Promise<TestServer>])[] = [
    ['http', 'OPEN_INFERENCE', () => startRestServer({ echoDatatype: datatype })],
    ['grpc', 'OPEN_INFERENCE', () => startGrpcServer({ echoDatatype: datatype })],
    ['http', 'TENSORFLOW_SERVING', () => startRestServer({ echoDatatype: datatype })],
  ];
  it.each(transports)('round-trips through %s %s', async (scheme, type, start) => {
    const s = await server(start);
    const model = await load(type, `${scheme}://${s.address}/echo`);
    expect(model.metadata().inputs[0]).toMatchObject({ name: 'x', dtype: x?.dtype, shape: [-1, 2] });
    const { y } = await model.infer({ x: x as Tensor });
    expect(y?.dtype).toBe(x?.dtype);
    expect(y?.shape).toEqual([3, 2]);
    expect(Array.from(y?.data as ArrayLike<unknown>)).toEqual(Array.from(x?.data as ArrayLike<unknown>));
  });
});
