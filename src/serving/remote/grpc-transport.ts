/**
 * gRPC to one endpoint: one channel (one HTTP/2 connection, multiplexed) per endpoint, shared by
 * every service called there, with unary calls described by the project's .proto files
 * (protos/, loaded with @grpc/proto-loader). Each call has a deadline; a status says whether
 * the endpoint or the request is to blame.
 */
import { join } from 'node:path';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type PackageDefinition } from '@grpc/proto-loader';
import { packageRoot } from '../../util/package-root.js';
import { RemoteFailure } from './failure.js';

const protoFiles = ['inference/grpc_predict_v2.proto', 'tensorflow_serving/apis/prediction_service.proto', 'tensorflow_serving/apis/model_service.proto'];

let definitions: PackageDefinition | undefined;

/** The definitions are immutable data, parsed once per process when the first gRPC model loads. */
function packageDefinition(): PackageDefinition {
  definitions ??= loadSync(protoFiles, {
    includeDirs: [join(packageRoot(), 'protos')],
    keepCase: true,
    // Shapes and int64 values arrive as decimal strings: exact, converted where they are read.
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return definitions;
}

export interface GrpcMethod<Request, Response> {
  readonly path: string;
  readonly serialize: (request: Request) => Buffer;
  readonly deserialize: (bytes: Buffer) => Response;
}

/** `grpcMethod('inference.GRPCInferenceService', 'ModelInfer')`, typed by the caller's message interfaces. */
export function grpcMethod<Request, Response>(service: string, name: string): GrpcMethod<Request, Response> {
  const definition = packageDefinition()[service] as Record<string, MethodDefinition<Request, Response>> | undefined;
  const method = definition?.[name];
  if (method === undefined) throw new Error(`the protos in ${join(packageRoot(), 'protos')} define no method ${service}/${name}`);
  return { path: method.path, serialize: method.requestSerialize, deserialize: method.responseDeserialize };
}

export interface GrpcCall {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Request headers, e.g. Seldon's `seldon` and `namespace` routing headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface GrpcEndpointOptions {
  /** Longest wait between reconnection attempts to a server that went away, so it is used again soon after it is back. */
  readonly maxReconnectBackoffMs: number;
}

export class GrpcEndpoint {
  private readonly client: Client;

  constructor(
    /** `127.0.0.1:8001` */
    readonly address: string,
    options: GrpcEndpointOptions,
  ) {
    this.client = new Client(address, credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': Math.min(100, options.maxReconnectBackoffMs),
      'grpc.max_reconnect_backoff_ms': options.maxReconnectBackoffMs,
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      // Retries are Sluice's own (on another endpoint, counted by the circuit breaker).
      'grpc.enable_retries': 0,
    });
  }

  unary<Request, Response>(method: GrpcMethod<Request, Response>, request: Request, call: GrpcCall): Promise<Response> {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(call.headers ?? {})) metadata.set(key, value);
    return new Promise((resolve, reject) => {
      const cancel = () => pending.cancel();
      const pending = this.client.makeUnaryRequest(
        method.path,
        method.serialize,
        method.deserialize,
        request,
        metadata,
        { deadline: Date.now() + call.timeoutMs },
        (err, response) => {
          call.signal?.removeEventListener('abort', cancel);
          if (call.signal?.aborted) reject(call.signal.reason);
          else if (err) reject(failure(err, call.timeoutMs));
          else if (response === undefined) reject(new RemoteFailure('request', 'the server sent no response message'));
          else resolve(response);
        },
      );
      if (call.signal?.aborted) cancel();
      else call.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Statuses that say "this server cannot answer now"; every other one is the server's answer to this request. */
const endpointStatuses: ReadonlySet<number> = new Set([status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.ABORTED, status.CANCELLED]);

function failure(err: ServiceError, timeoutMs: number): RemoteFailure {
  if (err.code === status.DEADLINE_EXCEEDED) return new RemoteFailure('endpoint', `deadline of ${timeoutMs}ms exceeded`, { cause: err });
  const message = `gRPC ${status[err.code] ?? err.code}: ${err.details || '(no details)'}`;
  return new RemoteFailure(endpointStatuses.has(err.code) ? 'endpoint' : 'request', message, { cause: err });
}

/** Connecting and naming gRPC endpoints, the same for every gRPC protocol. */
export function grpcConnections(options: GrpcEndpointOptions): {
  url(address: string): string;
  connect(address: string): GrpcEndpoint;
  close(e: GrpcEndpoint): Promise<void>;
} {
  return {
    url: (address) => `grpc://${address}`,
    connect: (address) => new GrpcEndpoint(address, options),
    close: async (endpoint) => endpoint.close(),
  };
}
