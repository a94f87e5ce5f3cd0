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
  SLUICE_ERR_UNKNOWN_PORT: { template: 'streamlet {streamlet} has no {kind} named {port}', http: 400, grpc: 3 },
  SLUICE_ERR_PLUGIN_DUPLICATE: { template: '{kind} {name} is already registered', http: 500, grpc: 13 },
  SLUICE_ERR_PLUGIN_LATE: { template: '{kind} {name} registered after the registry was sealed', http: 500, grpc: 13 },
  SLUICE_ERR_NO_EXECUTOR: { template: 'no executor registered for model type {modelType}', http: 400, grpc: 3 },
  SLUICE_ERR_MODEL_INVALID: { template: 'model {modelName} cannot be loaded: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_MODEL_SIGNATURE: { template: 'model {modelName} does not fit: {message}', http: 400, grpc: 3 },
  SLUICE_ERR_MODEL_NOT_FOUND: { template: 'model {modelName} not found', http: 404, grpc: 5 },
  SLUICE_ERR_INFERENCE_FAILED: { template: 'inference with model {modelName} failed: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_STATE_CORRUPT: { template: 'model state file {file} is unreadable: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_STREAMLET_FAILED: { template: 'streamlet {streamlet} failed: {message}', http: 500, grpc: 13 },
  SLUICE_ERR_SHUTDOWN: { template: 'stopped: {message}', http: 503, grpc: 14 },
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
