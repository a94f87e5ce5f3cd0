/**
 * Helpers for the model server tests: a model repository of real recommender models in a temp
 * directory, a REST client (undici), gRPC clients built only from the project's .proto files
 * (never from the server's code), the reference scores of the same model called through its
 * executor directly, and a reader for the Prometheus exposition.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Pool } from 'undici';
import { buildRecommenderModel, recommenderModels } from '../../examples/recommender/models/build-models.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import { onnxExecutor } from '../../src/serving/executors/onnx.js';
import { tensor } from '../../src/serving/tensor.js';
import { root } from '../support/cli.js';

export const quietLog: Logger = createLogger({ level: 'silent' });

export const [recommenderA, recommenderB] = recommenderModels as [(typeof recommenderModels)[number], (typeof recommenderModels)[number]];

export async function tempRepository(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-serve-'));
}

/** Writes `bytes` as `<repository>/<model>/<version>/<file>`. */
export async function writeVersion(repository: string, model: string, version: number, file: string, bytes: Uint8Array | string): Promise<string> {
  const folder = join(repository, model, String(version));
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, file), bytes);
  return folder;
}

export function onnxBytes(options: (typeof recommenderModels)[number]): Uint8Array {
  return buildRecommenderModel(options);
}

/** The recommender's scores for (user, product) pairs, from the ONNX executor called directly. */
export async function referenceScores(options: (typeof recommenderModels)[number], users: readonly number[], products: readonly number[]): Promise<number[]> {
  const model = await onnxExecutor.load({
    modelName: options.name,
    description: 'reference',
    modelType: 'ONNX',
    modelBytes: Buffer.from(buildRecommenderModel(options)),
    modelSourceLocation: null,
  });
  try {
    const out = await model.infer({
      users: tensor('float32', [users.length, 1], Float32Array.from(users)),
      products: tensor('float32', [products.length, 1], Float32Array.from(products)),
    });
    return Array.from(out.predictions?.data as Float32Array);
  } finally {
    await model.unload();
  }
}

/** An Open Inference REST infer body for the recommender. */
export function oipBody(
  users: readonly number[],
  products: readonly number[],
  extra: Record<string, unknown> = {},
): { inputs: Record<string, unknown>[]; [key: string]: unknown } {
  return {
    inputs: [
      { name: 'users', shape: [users.length, 1], datatype: 'FP32', data: [...users] },
      { name: 'products', shape: [products.length, 1], datatype: 'FP32', data: [...products] },
    ],
    ...extra,
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): any;
}

/** A keep-alive REST client: `body` objects are sent as JSON, strings and buffers as they are. */
export class RestClient {
  private readonly pool: Pool;

  constructor(readonly base: string) {
    this.pool = new Pool(base, { connections: 64 });
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const payload = body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const response = await this.pool.request({
      method: method as 'GET',
      path,
      body: payload as string | Buffer | undefined,
      headers: { 'content-type': 'application/json', ...headers },
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
  }

  get(path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.request('GET', path, undefined, headers);
  }

  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply> {
    return this.request('POST', path, body, headers);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** One sample of a metric from the Prometheus text format, by name and labels (every given label must match). */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

// -- gRPC clients from the .proto files alone -------------------------------------------------

type Unary = (request: object, callback: (error: grpc.ServiceError | null, response: any) => void) => void;

/** A gRPC client of one service, built with @grpc/proto-loader from the project's protos/ directory. */
export class ProtoClient {
  private readonly client: grpc.Client & Record<string, Unary>;

  constructor(address: string, protoFile: string, service: string, options: grpc.ClientOptions = {}) {
    const definition = loadSync(protoFile, { includeDirs: [join(root, 'protos')], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    let namespace: any = grpc.loadPackageDefinition(definition);
    for (const part of service.split('.')) namespace = namespace[part];
    const Service = namespace as grpc.ServiceClientConstructor;
    this.client = new Service(address, grpc.credentials.createInsecure(), options) as grpc.Client & Record<string, Unary>;
  }

  call(method: string, request: object): Promise<any> {
    return new Promise((resolve, reject) => {
      const unary = this.client[method];
      if (!unary) return reject(new Error(`no method ${method}`));
      unary.call(this.client, request, (error, response) => (error ? reject(error) : resolve(response)));
    });
  }

  /** The gRPC status error of a call that must fail. */
  async failure(method: string, request: object): Promise<grpc.ServiceError> {
    try {
      await this.call(method, request);
    } catch (error) {
      return error as grpc.ServiceError;
    }
    throw new Error(`${method} succeeded where it must fail`);
  }

  close(): void {
    this.client.close();
  }
}

export function openInferenceClient(address: string, options?: grpc.ClientOptions): ProtoClient {
  return new ProtoClient(address, 'inference/grpc_predict_v2.proto', 'inference.GRPCInferenceService', options);
}

export function predictionClient(address: string): ProtoClient {
  return new ProtoClient(address, 'tensorflow_serving/apis/prediction_service.proto', 'tensorflow.serving.PredictionService');
}

export function modelServiceClient(address: string): ProtoClient {
  return new ProtoClient(address, 'tensorflow_serving/apis/model_service.proto', 'tensorflow.serving.ModelService');
}

/** Float32 values from little-endian raw bytes. */
export function floatsOf(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

export function rawFloats(values: readonly number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buffer.writeFloatLE(v, i * 4));
  return buffer;
}

/** Polls until `check` passes (returns without throwing); rethrows its last failure after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
