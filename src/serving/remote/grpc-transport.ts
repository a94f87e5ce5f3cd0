/**
 * gRPC to one endpoint: unary calls over one HTTP/2 connection (node:http2, multiplexed) per
 * endpoint, messages described by the project's .proto files (protos/, loaded with
 * @grpc/proto-loader). The calls are made here rather than through @grpc/grpc-js's client:
 * its per-call machinery (interceptors, filters, resolving and retrying calls) cost twice the
 * CPU and garbage of the HTTP/2 request itself, and that garbage, promoted by the stream's
 * native handle, made the pipeline's scavenges long: the tail of its latency. Balancing,
 * retries and circuits are Sluice's own anyway. Each call has a deadline (sent as
 * `grpc-timeout` and kept locally); a status says whether the endpoint or the request is to blame.
 */
import { connect as http2Connect, constants as http2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type PackageDefinition } from '@grpc/proto-loader';
import { messageOf } from '../../core/errors.js';
import { packageRoot } from '../../util/package-root.js';
import { RemoteFailure } from './failure.js';
import { networkFailure } from './network-failure.js';

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

/** HTTP/2 windows large enough that a big tensor is not sent in 64 KiB round trips. */
const STREAM_WINDOW = 4 * 1024 * 1024;
const SESSION_WINDOW = 16 * 1024 * 1024;

export class GrpcEndpoint {
  private session: ClientHttp2Session | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(
    /** `127.0.0.1:8001`, `[::1]:8001` */
    readonly address: string,
  ) {
    const url = new URL(`http://${address}`);
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port || 80);
  }

  unary<Request, Response>(method: GrpcMethod<Request, Response>, request: Request, call: GrpcCall): Promise<Response> {
    return new Promise((resolve, reject) => {
      const { signal, timeoutMs } = call;
      if (signal?.aborted) return reject(signal.reason);
      let frame: Buffer;
      try {
        frame = framed(method.serialize(request));
      } catch (err) {
        return reject(new RemoteFailure('request', `the request cannot be encoded: ${messageOf(err)}`));
      }
      const headers: Record<string, string> = {
        [http2.HTTP2_HEADER_METHOD]: 'POST',
        [http2.HTTP2_HEADER_PATH]: method.path,
        [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
      };
      for (const [key, value] of Object.entries(call.headers ?? {})) headers[key.toLowerCase()] = value;
      let stream: ClientHttp2Stream;
      try {
        stream = this.request(headers);
      } catch (err) {
        return reject(new RemoteFailure('endpoint', `gRPC UNAVAILABLE: ${messageOf(err)}`, { cause: err }));
      }
      let settled = false;
      const settle = (outcome: { failure: unknown } | { response: Response }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if ('response' in outcome) return resolve(outcome.response);
        if (!stream.closed) stream.close(http2.NGHTTP2_CANCEL);
        reject(outcome.failure);
      };
      const onAbort = () => settle({ failure: signal?.reason });
      const timer = setTimeout(() => settle({ failure: new RemoteFailure('endpoint', `deadline of ${timeoutMs}ms exceeded`) }), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      let response: IncomingHttpHeaders | undefined;
      let trailers: IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (response = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => settle({ failure: new RemoteFailure('endpoint', `gRPC UNAVAILABLE: ${connectionFailure(err)}`, { cause: err }) }));
      stream.on('close', () => {
        if (settled) return;
        try {
          settle({ response: answer(method.deserialize, response, trailers, chunks, stream.rstCode, timeoutMs) });
        } catch (err) {
          settle({ failure: err });
        }
      });
      stream.end(frame);
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  /** A stream on the connection; a connection that can take no more (closing, or out of stream ids) is replaced once. */
  private request(headers: Record<string, string>): ClientHttp2Stream {
    try {
      return this.connection().request(headers);
    } catch {
      this.drop(this.session);
      return this.connection().request(headers);
    }
  }

  /** The endpoint's HTTP/2 connection, made on first use and again after it was lost: a server back up is used at once. */
  private connection(): ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const session = http2Connect(`http://${this.address}`, {
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
      // Small messages go out at once, not after the peer's delayed ACK.
      createConnection: () => netConnect({ host: this.host, port: this.port, noDelay: true }),
    });
    // Failures reach the calls on their streams; a lost connection is only forgotten.
    session.on('error', () => this.drop(session));
    session.once('goaway', () => this.drop(session));
    session.once('close', () => this.drop(session));
    session.once('connect', () => session.setLocalWindowSize(SESSION_WINDOW));
    // An idle connection does not keep the process alive; a call's deadline timer does while it runs.
    session.unref();
    this.session = session;
    return session;
  }

  private drop(session: ClientHttp2Session | undefined): void {
    if (session === undefined || this.session !== session) return;
    this.session = undefined;
    if (!session.closed) session.close();
  }
}

/** A gRPC length-prefixed message: uncompressed flag, 4-byte big-endian length, the bytes. */
function framed(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/** The response message of a finished call, or the failure its status (or its HTTP status, or its reset) says. */
function answer<Response>(
  deserialize: (bytes: Buffer) => Response,
  headers: IncomingHttpHeaders | undefined,
  trailers: IncomingHttpHeaders | undefined,
  chunks: readonly Buffer[],
  rstCode: number | undefined,
  timeoutMs: number,
): Response {
  // A trailers-only answer (an error before any message) carries its status in the headers.
  const grpcStatus = trailers?.['grpc-status'] ?? headers?.['grpc-status'];
  if (grpcStatus === undefined) {
    const httpStatus = Number(headers?.[http2.HTTP2_HEADER_STATUS] ?? 0);
    if (httpStatus !== 0 && httpStatus !== 200) throw statusFailure(httpStatusCode(httpStatus), `HTTP ${httpStatus}`, timeoutMs);
    const reset = rstCode !== undefined && rstCode !== http2.NGHTTP2_NO_ERROR ? ` (stream reset, code ${rstCode})` : '';
    throw statusFailure(status.UNAVAILABLE, `the call ended without a status${reset}`, timeoutMs);
  }
  const code = Number(grpcStatus);
  if (code !== status.OK) throw statusFailure(code, decodeMessage(trailers?.['grpc-message'] ?? headers?.['grpc-message']), timeoutMs);
  const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  if (body.length < 5) throw new RemoteFailure('request', 'the server sent no response message');
  if (body[0] !== 0) throw new RemoteFailure('request', 'the server sent a compressed response message, which was not asked for');
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) throw new RemoteFailure('request', `the server sent ${body.length - 5} bytes for a message of ${length}`);
  try {
    return deserialize(body.subarray(5));
  } catch (err) {
    throw new RemoteFailure('request', `the response message cannot be decoded: ${messageOf(err)}`);
  }
}

/** The gRPC code of an HTTP status from something that is not a gRPC server (a proxy), as gRPC's spec maps them. */
function httpStatusCode(httpStatus: number): number {
  if (httpStatus === 400) return status.INTERNAL;
  if (httpStatus === 401) return status.UNAUTHENTICATED;
  if (httpStatus === 403) return status.PERMISSION_DENIED;
  if (httpStatus === 404) return status.UNIMPLEMENTED;
  if (httpStatus === 429 || httpStatus === 502 || httpStatus === 503 || httpStatus === 504) return status.UNAVAILABLE;
  return status.UNKNOWN;
}

function decodeMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Statuses that say "this server cannot answer now"; every other one is the server's answer to this request. */
const endpointStatuses: ReadonlySet<number> = new Set([status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.ABORTED, status.CANCELLED]);

function statusFailure(code: number, details: string, timeoutMs: number): RemoteFailure {
  if (code === status.DEADLINE_EXCEEDED) return new RemoteFailure('endpoint', `deadline of ${timeoutMs}ms exceeded`);
  const message = `gRPC ${status[code] ?? code}: ${details || '(no details)'}`;
  return new RemoteFailure(endpointStatuses.has(code) ? 'endpoint' : 'request', message);
}

/** Streams waiting for a connection that failed are cancelled, the connection's error their cause. */
function connectionFailure(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return networkFailure(cause instanceof Error ? cause : err);
}

/** Connecting and naming gRPC endpoints, the same for every gRPC protocol. */
export function grpcConnections(): {
  url(address: string): string;
  connect(address: string): GrpcEndpoint;
  close(e: GrpcEndpoint): Promise<void>;
} {
  return {
    url: (address) => `grpc://${address}`,
    connect: (address) => new GrpcEndpoint(address),
    close: async (endpoint) => endpoint.close(),
  };
}
