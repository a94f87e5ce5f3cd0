/**
 * Small model servers for the remote-executor tests, written from the wire protocols (not from
 * the client's code): Open Inference REST and gRPC, TensorFlow Serving REST and gRPC, Seldon
 * REST. They serve two models: `scorer` (users, products float32 [n,1] → predictions float32
 * [n,1] = users/1000 + products/100, in float32) and `echo` (x → y, any dtype). Tests steer
 * them: delay answers, hang, fail with a status, stop and restart on the same port.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Server as GrpcServer, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import { packageRoot } from '../../../src/util/package-root.js';

/** What the scorer answers for one row, computed in float32 as a float32 model would. */
export function score(user: number, product: number): number {
  return Math.fround(Math.fround(Math.fround(user) / 1000) + Math.fround(Math.fround(product) / 100));
}

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface Failure {
  /** HTTP status (REST) or gRPC status code. */
  readonly code: number;
  readonly message: string;
}

export interface TestServer {
  /** `127.0.0.1:port` */
  readonly address: string;
  /** Requests received, in order (inference and metadata). */
  readonly received: ReceivedRequest[];
  /** Inference requests received. */
  inferences(): number;
  /** Delays every answer. */
  delayMs: number;
  /** Never answers (until stopped). */
  hang: boolean;
  /** Answers every request with this failure. */
  failure: Failure | undefined;
  /** Answers inference with typed values instead of raw bytes (gRPC) */
  typedOutputs: boolean;
  /** Stops listening and drops every connection: the server is killed. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

type Tensor = { name: string; datatype: string; shape: number[]; values: unknown[] };

/** The two test models: `scorer` and `echo`. Returns undefined for an unknown model. */
function run(model: string, inputs: readonly Tensor[]): Tensor[] | string | undefined {
  if (model === 'echo') {
    const x = inputs.find((t) => t.name === 'x');
    return x ? [{ ...x, name: 'y' }] : "echo needs input 'x'";
  }
  if (model !== 'scorer') return undefined;
  const users = inputs.find((t) => t.name === 'users');
  const products = inputs.find((t) => t.name === 'products');
  if (!users || !products) return `scorer needs inputs 'users' and 'products', got ${inputs.map((t) => t.name).join(', ')}`;
  if (users.datatype !== 'FP32' || products.datatype !== 'FP32') return 'scorer takes FP32';
  if (users.values.length !== products.values.length || users.shape[1] !== 1) return `bad shapes ${users.shape} ${products.shape}`;
  return [
    {
      name: 'predictions',
      datatype: 'FP32',
      shape: [users.values.length, 1],
      values: users.values.map((u, i) => score(u as number, products.values[i] as number)),
    },
  ];
}

const scorerMetadata = {
  name: 'scorer',
  versions: ['1'],
  platform: 'test',
  inputs: [
    { name: 'users', datatype: 'FP32', shape: [-1, 1] },
    { name: 'products', datatype: 'FP32', shape: [-1, 1] },
  ],
  outputs: [{ name: 'predictions', datatype: 'FP32', shape: [-1, 1] }],
};

function metadataOf(model: string, echoDatatype: string) {
  if (model === 'scorer') return scorerMetadata;
  if (model === 'echo') {
    return {
      name: 'echo',
      versions: ['1'],
      platform: 'test',
      inputs: [{ name: 'x', datatype: echoDatatype, shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: echoDatatype, shape: [-1, 2] }],
    };
  }
  return undefined;
}

const tfTypes: Record<string, string> = {
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  UINT8: 'DT_UINT8',
  BOOL: 'DT_BOOL',
  BYTES: 'DT_STRING',
};
const v2Types = Object.fromEntries(Object.entries(tfTypes).map(([k, v]) => [v, k]));

/** Shape and flat values of nested arrays. */
function unnest(value: unknown): { shape: number[]; values: unknown[] } {
  const shape: number[] = [];
  for (let level = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  const values = Array.isArray(value) ? (value as unknown[]).flat(Infinity) : [value];
  return { shape, values };
}

function nestValues(values: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return [...values];
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] as number }, (_, i) => nestValues(values.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

interface Behaviour {
  delayMs: number;
  hang: boolean;
  failure: Failure | undefined;
  typedOutputs: boolean;
}

/** One REST server speaking Open Inference, TensorFlow Serving and Seldon, as real servers do on their REST ports. */
export async function startRestServer(options: { echoDatatype?: string; port?: number } = {}): Promise<TestServer> {
  const echoDatatype = options.echoDatatype ?? 'FP32';
  const received: ReceivedRequest[] = [];
  const behaviour: Behaviour = { delayMs: 0, hang: false, failure: undefined, typedOutputs: false };
  let inferences = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body: unknown = text ? JSON.parse(text) : undefined;
    const path = request.url ?? '';
    received.push({ path, headers: request.headers as Record<string, string>, body });
    const send = (code: number, answer: unknown) => {
      response.writeHead(code, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    };
    if (request.method === 'POST') inferences++;
    if (behaviour.hang) return;
    if (behaviour.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    if (behaviour.failure) return send(behaviour.failure.code, { error: behaviour.failure.message });

    let match: RegExpExecArray | null;
    if ((match = /^\/v2\/models\/([^/]+)(?:\/versions\/(\d+))?$/.exec(path)) && request.method === 'GET') {
      const metadata = metadataOf(decodeURIComponent(match[1] as string), echoDatatype);
      return metadata ? send(200, metadata) : send(404, { error: `model '${match[1]}' not found` });
    }
    if ((match = /^\/v2\/models\/([^/]+)(?:\/versions\/(\d+))?\/infer$/.exec(path)) && request.method === 'POST') {
      const given = body as { inputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] };
      const outputs = run(
        match[1] as string,
        given.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, values: t.data })),
      );
      if (outputs === undefined) return send(404, { error: `model '${match[1]}' not found` });
      if (typeof outputs === 'string') return send(400, { error: outputs });
      return send(200, {
        model_name: match[1],
        model_version: match[2] ?? '1',
        outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: t.values })),
      });
    }
    if ((match = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+))?\/metadata$/.exec(path)) && request.method === 'GET') {
      const metadata = metadataOf(match[1] as string, echoDatatype);
      if (!metadata) return send(404, { error: `Servable not found for request: Latest(${match[1]})` });
      const infos = (list: typeof scorerMetadata.inputs) =>
        Object.fromEntries(
          list.map((t) => [
            t.name,
            {
              dtype: tfTypes[t.datatype],
              tensor_shape: { dim: t.shape.map((size) => ({ size: String(size), name: '' })), unknown_rank: false },
              name: `${t.name}:0`,
            },
          ]),
        );
      const def = { inputs: infos(metadata.inputs), outputs: infos(metadata.outputs), method_name: 'tensorflow/serving/predict' };
      return send(200, {
        model_spec: { name: match[1], signature_name: '', version: '1' },
        metadata: { signature_def: { signature_def: { serving_default: def } } },
      });
    }
    if ((match = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+))?:predict$/.exec(path)) && request.method === 'POST') {
      const given = body as { signature_name?: string; inputs: Record<string, unknown> };
      if ((given.signature_name ?? 'serving_default') !== 'serving_default') return send(400, { error: `no signature ${given.signature_name}` });
      const metadata = metadataOf(match[1] as string, echoDatatype);
      const inputs = Object.entries(given.inputs).map(([name, value]) => {
        const { shape, values } = unnest(value);
        return { name, datatype: metadata?.inputs.find((i) => i.name === name)?.datatype ?? 'FP32', shape, values };
      });
      const outputs = run(match[1] as string, inputs);
      if (outputs === undefined) return send(404, { error: `Servable not found for request: Latest(${match[1]})` });
      if (typeof outputs === 'string') return send(400, { error: outputs });
      // One output is answered bare, as TensorFlow Serving does.
      const [only] = outputs;
      return send(200, {
        outputs:
          outputs.length === 1 && only ? nestValues(only.values, only.shape) : Object.fromEntries(outputs.map((t) => [t.name, nestValues(t.values, t.shape)])),
      });
    }
    if ((match = /^\/api\/v1\.0\/metadata\/([^/]+)$/.exec(path)) && request.method === 'GET') {
      const metadata = metadataOf(match[1] as string, echoDatatype);
      return metadata ? send(200, metadata) : send(404, { status: { code: 404, info: `no model ${match[1]}`, status: 'FAILURE' } });
    }
    if (path === '/api/v1.0/predictions' && request.method === 'POST') {
      const model = request.headers.seldon as string | undefined;
      const given = body as { data: { names: string[]; ndarray: unknown[][] } };
      const names = given.data.names;
      const rows = given.data.ndarray;
      const inputs =
        names.length === 1
          ? [{ name: names[0] as string, datatype: echoDatatype, ...unnest(rows) }]
          : names.map((name, column) => ({ name, datatype: 'FP32', shape: [rows.length, 1], values: rows.map((row) => row[column]) }));
      const outputs = model === undefined ? undefined : run(model, inputs);
      if (outputs === undefined) return send(404, { status: { code: 404, info: `no deployment ${model}`, status: 'FAILURE' } });
      if (typeof outputs === 'string') return send(400, { status: { code: 400, info: outputs, status: 'FAILURE' } });
      const [only] = outputs as [Tensor];
      return send(200, { data: { names: [only.name], ndarray: nestValues(only.values, only.shape) }, meta: {} });
    }
    send(404, { error: `no route ${request.method} ${path}` });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((err: unknown) => {
      response.writeHead(500);
      response.end(String(err));
    });
  });
  server.keepAliveTimeout = 60_000;
  let port = options.port ?? 0;
  const listen = async () => {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  };
  await listen();
  return controlled(behaviour, received, () => inferences, `127.0.0.1:${port}`, {
    async stop() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
    restart: listen,
  });
}

type AnyCall = ServerUnaryCall<Record<string, unknown>, unknown>;

/** One gRPC server with `inference.GRPCInferenceService` and `tensorflow.serving.PredictionService`, built from the project's protos. */
export async function startGrpcServer(options: { echoDatatype?: string } = {}): Promise<TestServer> {
  const echoDatatype = options.echoDatatype ?? 'FP32';
  const definition = loadSync(['inference/grpc_predict_v2.proto', 'tensorflow_serving/apis/prediction_service.proto'], {
    includeDirs: [join(packageRoot(), 'protos')],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const received: ReceivedRequest[] = [];
  const behaviour: Behaviour = { delayMs: 0, hang: false, failure: undefined, typedOutputs: false };
  let inferences = 0;

  const unary =
    (name: string, answer: (request: Record<string, unknown>) => unknown): ((call: AnyCall, callback: sendUnaryData<unknown>) => void) =>
    (call, callback) => {
      received.push({ path: name, headers: Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])), body: call.request });
      if (name !== 'ModelMetadata') inferences++;
      if (behaviour.hang) return;
      setTimeout(() => {
        if (behaviour.failure) return callback({ code: behaviour.failure.code, details: behaviour.failure.message });
        try {
          const result = answer(call.request);
          if (typeof result === 'object' && result !== null && 'code' in result) callback(result as { code: number; details: string });
          else callback(null, result);
        } catch (err) {
          callback({ code: status.INTERNAL, details: String(err) });
        }
      }, behaviour.delayMs);
    };

  const fromRaw = (datatype: string, bytes: Buffer): unknown[] => {
    const copy = new Uint8Array(bytes).buffer;
    if (datatype === 'FP32') return [...new Float32Array(copy)];
    if (datatype === 'FP64') return [...new Float64Array(copy)];
    if (datatype === 'INT32') return [...new Int32Array(copy)];
    if (datatype === 'INT64') return [...new BigInt64Array(copy)].map(String);
    return [...new Uint8Array(copy)];
  };
  const contentsField: Record<string, string> = {
    FP32: 'fp32_contents',
    FP64: 'fp64_contents',
    INT32: 'int_contents',
    INT64: 'int64_contents',
    UINT8: 'uint_contents',
    BOOL: 'bool_contents',
    BYTES: 'bytes_contents',
  };

  const inference: UntypedServiceImplementation = {
    ModelMetadata: unary(
      'ModelMetadata',
      (request) => metadataOf(request.name as string, echoDatatype) ?? { code: status.NOT_FOUND, details: `model '${request.name}' not found` },
    ),
    ModelInfer: unary('ModelInfer', (request) => {
      const given = request.inputs as { name: string; datatype: string; shape: string[] }[];
      const raw = request.raw_input_contents as Buffer[];
      const inputs = given.map((t, i) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape.map(Number),
        values: t.datatype === 'BYTES' ? [] : fromRaw(t.datatype, raw[i] as Buffer),
        raw: raw[i],
      }));
      const outputs = run(request.model_name as string, inputs);
      if (outputs === undefined) return { code: status.NOT_FOUND, details: `model '${request.model_name}' not found` };
      if (typeof outputs === 'string') return { code: status.INVALID_ARGUMENT, details: outputs };
      const echoed = outputs as (Tensor & { raw?: Buffer })[];
      if (behaviour.typedOutputs) {
        return {
          outputs: echoed.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, contents: { [contentsField[t.datatype] as string]: t.values } })),
        };
      }
      const rawOut = echoed.map((t) => t.raw ?? Buffer.from(new Float32Array(t.values as number[]).buffer));
      return {
        model_name: request.model_name,
        outputs: echoed.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        raw_output_contents: rawOut,
      };
    }),
  };
  const prediction: UntypedServiceImplementation = {
    Predict: unary('Predict', (request) => {
      const spec = request.model_spec as { name: string; signature_name: string };
      if (spec.signature_name !== 'serving_default') return { code: status.INVALID_ARGUMENT, details: `no signature '${spec.signature_name}'` };
      const protos = request.inputs as Record<
        string,
        { dtype: string; tensor_shape: { dim: { size: string }[] }; tensor_content: Buffer; float_val: number[] }
      >;
      const inputs = Object.entries(protos).map(([name, p]) => {
        const datatype = v2Types[p.dtype] as string;
        return {
          name,
          datatype,
          shape: p.tensor_shape.dim.map((d) => Number(d.size)),
          values: p.tensor_content.length > 0 ? fromRaw(datatype, p.tensor_content) : p.float_val,
          raw: p.tensor_content,
        };
      });
      const outputs = run(spec.name, inputs);
      if (outputs === undefined) return { code: status.NOT_FOUND, details: `Servable not found for request: Latest(${spec.name})` };
      if (typeof outputs === 'string') return { code: status.INVALID_ARGUMENT, details: outputs };
      const proto = (t: Tensor & { raw?: Buffer }) => {
        const base = { dtype: tfTypes[t.datatype], tensor_shape: { dim: t.shape.map((size) => ({ size })) } };
        if (behaviour.typedOutputs && t.datatype === 'FP32') return { ...base, float_val: t.values };
        return { ...base, tensor_content: t.raw ?? Buffer.from(new Float32Array(t.values as number[]).buffer) };
      };
      return { model_spec: { name: spec.name }, outputs: Object.fromEntries((outputs as Tensor[]).map((t) => [t.name, proto(t)])) };
    }),
  };

  let server: GrpcServer | undefined;
  let port = 0;
  const listen = async () => {
    const next = new GrpcServer();
    next.addService(definition['inference.GRPCInferenceService'] as ServiceDefinition, inference);
    next.addService(definition['tensorflow.serving.PredictionService'] as ServiceDefinition, prediction);
    port = await new Promise<number>((resolve, reject) =>
      next.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    server = next;
  };
  await listen();
  return controlled(behaviour, received, () => inferences, `127.0.0.1:${port}`, {
    async stop() {
      server?.forceShutdown();
      server = undefined;
    },
    restart: listen,
  });
}

function controlled(
  behaviour: Behaviour,
  received: ReceivedRequest[],
  inferences: () => number,
  address: string,
  lifecycle: { stop(): Promise<void>; restart(): Promise<void> },
): TestServer {
  return {
    address,
    received,
    inferences,
    get delayMs() {
      return behaviour.delayMs;
    },
    set delayMs(ms: number) {
      behaviour.delayMs = ms;
    },
    get hang() {
      return behaviour.hang;
    },
    set hang(on: boolean) {
      behaviour.hang = on;
    },
    get failure() {
      return behaviour.failure;
    },
    set failure(failure: Failure | undefined) {
      behaviour.failure = failure;
    },
    get typedOutputs() {
      return behaviour.typedOutputs;
    },
    set typedOutputs(on: boolean) {
      behaviour.typedOutputs = on;
    },
    ...lifecycle,
  };
}
