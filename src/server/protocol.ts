/**
 * How a wire protocol plugs into the model server. A protocol only translates: it reads its
 * wire form into Sluice tensors, calls the data plane, and writes the answer back in its wire
 * form. REST protocols give routes on the shared HTTP port; gRPC protocols give a service,
 * defined by proto files under the package's `protos/` directory, on the shared gRPC port.
 * Protocols register by name through one plugin registry, which refuses duplicates.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Metadata } from '@grpc/grpc-js';
import type { SluiceError } from '../core/errors.js';
import type { DataPlane } from './data-plane.js';

/** What the transport learns about a request while a protocol handles it. */
export interface Exchange {
  /** The repository model the request was for, once resolved: the `model` metrics label. */
  model: string;
}

export interface RestRequest extends Exchange {
  /** Path parameters, URL-decoded: `{model}` in a route path gives `params.model`. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body parsed as JSON; throws a 400 error saying where the JSON breaks. */
  json(): unknown;
}

export interface RestReply {
  /** Default 200. */
  readonly status?: number;
  /** Sent as JSON, or as it is when `contentType` is given (then a string). */
  readonly body: unknown;
  readonly contentType?: string;
}

export interface RestRoute {
  readonly method: 'GET' | 'POST';
  /** A path with `{name}` parameters, each matching one path segment up to a `/` or `:`, e.g. `/v1/models/{model}:predict`. */
  readonly path: string;
  handle(request: RestRequest): RestReply | Promise<RestReply>;
}

export interface RestProtocol {
  readonly name: string;
  readonly transport: 'rest';
  routes(plane: DataPlane): readonly RestRoute[];
  /** The error body this protocol's clients expect. */
  errorBody(error: SluiceError): unknown;
}

export interface GrpcCall extends Exchange {
  readonly metadata: Metadata;
}

/** One gRPC method: the request as @grpc/proto-loader decodes it (snake_case fields, int64 as strings, enums as names, defaults filled). */
export type GrpcMethod = (request: unknown, call: GrpcCall) => Promise<object>;

export interface GrpcProtocol {
  readonly name: string;
  readonly transport: 'grpc';
  /** Proto files, relative to the package's `protos/` directory. */
  readonly protoFiles: readonly string[];
  /** The fully qualified service, e.g. `inference.GRPCInferenceService`. */
  readonly service: string;
  methods(plane: DataPlane): Readonly<Record<string, GrpcMethod>>;
}

export type Protocol = RestProtocol | GrpcProtocol;
