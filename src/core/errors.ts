/**
 * Every error Sluice raises on purpose, in one table: a stable code, a message template, and
 * how it maps to HTTP and gRPC when it crosses a protocol edge. A test checks the codes are
 * unique. Templates use `{name}` placeholders filled from the error's params.
 */
export const errorTable = {
  SLUICE_ERR_INVALID_ARGUMENT: { template: '{message}', http: 400, grpc: 3 },
  SLUICE_ERR_CONFIG_INVALID: { template: '{where}: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_HOCON_SYNTAX: { template: '{where}: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_HOCON_INCLUDE_REFUSED: { template: '{where}: include of {target} refused: {why}', http: 400, grpc: 3 },
  SLUICE_ERR_BLUEPRINT_INVALID: { template: 'blueprint {file} has {count} problem(s):\n{problems}', http: 400, grpc: 3 },
  SLUICE_ERR_STREAMLET_NOT_FOUND: { template: 'streamlet class {className} not found: {message}', http: 404, grpc: 5 },
  SLUICE_ERR_STREAMLET_LOAD_FAILED: { template: 'streamlet class {className} cannot be loaded: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_RECORD_INVALID: { template: 'record for {where} does not match schema {schema}: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_RECORD_UNDECODABLE: { template: 'record on {where} cannot be decoded with schema {schema}: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_RECORD_TOO_LARGE: { template: 'record on {where} is {size} bytes, over the limit of {limit} bytes', http: 413, grpc: 8 },
  SLUICE_ERR_RECORD_REFUSED: { template: '{target} refused a record: {message}', http: 422, grpc: 9 },
  SLUICE_ERR_UNKNOWN_PORT: { template: 'streamlet {streamlet} has no {kind} named {port}', http: 400, grpc: 3 },
  SLUICE_ERR_PLUGIN_DUPLICATE: { template: '{kind} {name} is already registered', http: 500, grpc: 13 },
  SLUICE_ERR_PLUGIN_LATE: { template: '{kind} {name} registered after the registry was sealed', http: 500, grpc: 13 },
  SLUICE_ERR_NO_EXECUTOR: { template: 'no executor registered for model type {modelType}', http: 400, grpc: 3 },
  SLUICE_ERR_MODEL_INVALID: { template: 'model {modelName} cannot be loaded: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_MODEL_SIGNATURE: { template: 'model {modelName} does not fit: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_MODEL_NOT_FOUND: { template: 'model {modelName} not found', http: 404, grpc: 5 },
  SLUICE_ERR_INFERENCE_FAILED: { template: 'inference with model {modelName} failed: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_MODEL_UNREACHABLE: { template: 'model {modelName} cannot be reached: {message}', http: 503, grpc: 14 },
  SLUICE_ERR_STATE_CORRUPT: { template: 'model state file {file} is unreadable: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_MODEL_VALIDATION: { template: 'model {modelName} failed validation: {message}', http: 422, grpc: 9 },
  SLUICE_ERR_VALIDATION_SET: { template: 'validation set {source}: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_CANDIDATE_NOT_FOUND: { template: 'no candidate model {modelName} to promote (candidates: {candidates})', http: 404, grpc: 5 },
  SLUICE_ERR_STREAMLET_FAILED: { template: 'streamlet {streamlet} failed: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_SHUTDOWN: { template: 'stopped: {message}', http: 503, grpc: 14 },
  SLUICE_ERR_NATS_CONNECT: { template: 'cannot connect to NATS at {url}: {message}', http: 503, grpc: 14 },
  SLUICE_ERR_NATS_STREAM: { template: 'JetStream {what} {name}: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_NATS_PUBLISH: { template: 'publish to topic {topic} (stream {stream}) failed: {message}', http: 503, grpc: 14 },
  SLUICE_ERR_MODEL_VERSION_NOT_FOUND: { template: 'model {modelName} has no version {version} to serve: {message}', http: 404, grpc: 5 },
  SLUICE_ERR_MODEL_NOT_READY: { template: 'model {modelName} is not ready: {message}', http: 503, grpc: 14 },
  SLUICE_ERR_QUEUE_FULL: { template: 'model {modelName} version {version} already has {limit} requests queued; retry later', http: 429, grpc: 8 },
  SLUICE_ERR_REQUEST_TOO_LARGE: { template: 'request body exceeds the limit of {limit} bytes', http: 413, grpc: 8 },
  SLUICE_ERR_DATATYPE_UNSUPPORTED: { template: 'tensor {tensor}: datatype {datatype} is not supported (supported: {supported})', http: 400, grpc: 3 },
  SLUICE_ERR_METHOD_NOT_ALLOWED: { template: '{method} is not allowed on {path}; allowed: {allowed}', http: 405, grpc: 12 },
  SLUICE_ERR_ENDPOINT_NOT_FOUND: { template: 'no endpoint {method} {path}', http: 404, grpc: 5 },
  SLUICE_ERR_SERVER_FAILED: { template: 'the server failed on {what}: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_GRAPH_INVALID: { template: 'inference graph {file} has {count} problem(s): {problems}', http: 400, grpc: 3 },
  SLUICE_ERR_REQUEST_NOT_FOUND: { template: 'model {modelName} remembers no routed request {id}: {message}', http: 404, grpc: 5 },
  SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE: { template: '{where}: content type {contentType} is not supported; send one of {supported}', http: 415, grpc: 3 },
  SLUICE_ERR_TOO_MANY_REQUESTS: { template: '{where}: {limit} requests are already in flight; retry after {retryAfter} s', http: 429, grpc: 8 },
  SLUICE_ERR_BACKPRESSURE: { template: '{where}: the pipeline did not accept the records within {timeout} ms; retry after {retryAfter} s', http: 503, grpc: 14 },
  SLUICE_ERR_RESPONSE_TIMEOUT: { template: '{where}: no result for request {id} within {timeout} ms', http: 504, grpc: 4 },
  SLUICE_ERR_DUPLICATE_REQUEST_ID: { template: '{where}: a request with id {id} is already waiting for its result', http: 409, grpc: 6 },
  SLUICE_ERR_READ_POSITIONS_CORRUPT: { template: 'read positions file {file} is unreadable: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_TRAINING_FAILED: { template: 'training with {trainer} failed: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_MANIFESTS_UNWRITABLE: { template: 'cannot write the manifests to {directory}: {message}', http: 500, grpc: 13 },
} as const satisfies Record<string, { template: string; http: number; grpc: number }>;

export type ErrorCode = keyof typeof errorTable;

type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}` ? P | Placeholders<Rest> : never;

export type ErrorParams<C extends ErrorCode> = Record<Placeholders<(typeof errorTable)[C]['template']>, string | number>;

export class SluiceError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = 'SluiceError';
  readonly code: C;
  readonly params: ErrorParams<C>;

  constructor(code: C, params: ErrorParams<C>, options?: { cause?: unknown }) {
    super(formatTemplate(errorTable[code].template, params), options);
    this.code = code;
    this.params = params;
  }

  get httpStatus(): number {
    return errorTable[this.code].http;
  }

  get grpcCode(): number {
    return errorTable[this.code].grpc;
  }
}

export function isSluiceError<C extends ErrorCode>(err: unknown, code?: C): err is SluiceError<C> {
  return err instanceof SluiceError && (code === undefined || err.code === code);
}

/** The message of anything thrown, for logs and result metadata. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function formatTemplate(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => String(params[key] ?? `{${key}}`));
}
