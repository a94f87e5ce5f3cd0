/**
 * Executors for models that live on a model server: Open Inference (REST, gRPC), TensorFlow
 * Serving (REST, gRPC) and Seldon Core 1 (REST). The descriptor's `modelSourceLocation` names
 * the endpoints and options (see location.ts). `load` asks every endpoint for the model's
 * signature (or probes the declared one) and rejects the update when none answers or one says
 * it does not know the model. `infer` sends a batch as one request (or as concurrent requests of
 * at most `max-rows` rows), balanced over the endpoints, retried elsewhere with backoff, with a
 * circuit breaker per endpoint so that dead servers fail calls fast instead of stalling them.
 */
import { messageOf, SluiceError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/log.js';
import { concatRows, sliceRows } from '../tensor-rows.js';
import type { ModelDescriptor } from '../descriptor.js';
import type { CallOptions, Executor, LoadedModel, ModelMetadata } from '../executor.js';
import { invalidModel } from '../model-source.js';
import { emptyOutputs, inputFor } from '../signature.js';
import { formatShape, shapeMatches, zeros, type NamedTensors, type Tensor } from '../tensor.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { Endpoint, EndpointSet } from './endpoints.js';
import { RemoteFailure } from './failure.js';
import { parseLocation, type LocationOptions, type RemoteLocation, type RemoteModelType, type Transport } from './location.js';
import { openInferenceGrpc, openInferenceRest } from './open-inference.js';
import type { CallSettings, RemoteProtocol } from './protocol.js';
import { CallFailed, callWithRetries } from './retry.js';
import { seldonRest } from './seldon.js';
import { tfServingGrpc, tfServingRest } from './tf-serving.js';
import { malformed } from './wire-tensors.js';

export interface RemoteExecutorOptions {
  /** Where circuit transitions and unreachable endpoints are logged; JSON lines on stderr by default. */
  readonly log?: Logger;
}

type Loader = (descriptor: ModelDescriptor, location: RemoteLocation, log: Logger, signal: AbortSignal | undefined) => Promise<LoadedModel>;

const loaders: Readonly<Record<RemoteModelType, Partial<Record<Transport, Loader>>>> = {
  OPEN_INFERENCE: {
    http: (d, l, log, s) => loadRemote(d, l, openInferenceRest(l), log, s),
    grpc: (d, l, log, s) => loadRemote(d, l, openInferenceGrpc(l), log, s),
  },
  TENSORFLOW_SERVING: {
    http: (d, l, log, s) => loadRemote(d, l, tfServingRest(l), log, s),
    grpc: (d, l, log, s) => loadRemote(d, l, tfServingGrpc(l), log, s),
  },
  SELDON: { http: (d, l, log, s) => loadRemote(d, l, seldonRest(l), log, s) },
};

export function createRemoteExecutor(modelType: RemoteModelType, options: RemoteExecutorOptions = {}): Executor {
  const log = (options.log ?? createLogger()).child({ executor: modelType });
  return {
    modelType,
    async load(descriptor: ModelDescriptor, callOptions?: CallOptions): Promise<LoadedModel> {
      callOptions?.signal?.throwIfAborted();
      const location = parseLocation(descriptor, modelType);
      const load = loaders[modelType][location.transport];
      if (!load) throw invalidModel(descriptor, `${modelType} over ${location.transport} is not supported`);
      return load(descriptor, location, log, callOptions?.signal);
    },
  };
}

export const openInferenceExecutor: Executor = createRemoteExecutor('OPEN_INFERENCE');
export const tfServingExecutor: Executor = createRemoteExecutor('TENSORFLOW_SERVING');
export const seldonExecutor: Executor = createRemoteExecutor('SELDON');

async function loadRemote<Connection>(
  descriptor: ModelDescriptor,
  location: RemoteLocation,
  protocol: RemoteProtocol<Connection>,
  log: Logger,
  signal: AbortSignal | undefined,
): Promise<LoadedModel> {
  const { options } = location;
  const modelLog = log.child({ model: descriptor.modelName });
  const endpoints = location.endpoints.map((address) => {
    const url = protocol.url(address);
    const breaker = new CircuitBreaker({
      failureThreshold: options['circuit-failures'],
      cooldownMs: options['circuit-cooldown'],
      // Opening and closing matter to operators; the probes in between, one per cool-down while the endpoint stays down, do not.
      onTransition: (from, to, reason) =>
        modelLog[from === 'closed' ? 'warn' : to === 'closed' ? 'info' : 'debug'](`circuit of ${url} is ${to}`, { endpoint: url, from, to, reason }),
    });
    return new Endpoint(url, protocol.connect(address), breaker);
  });
  try {
    const signature = await signatureOf(descriptor, location, protocol, endpoints, modelLog, signal);
    return new RemoteModel(descriptor.modelName, signature, new EndpointSet(endpoints, options.balance), protocol, options);
  } catch (err) {
    await Promise.all(endpoints.map((e) => protocol.close(e.connection)));
    throw err;
  }
}

/**
 * The signature every reachable endpoint agrees on. An endpoint that answers with an error (it
 * does not know the model) rejects the load; an unreachable one only if all are.
 */
async function signatureOf<Connection>(
  descriptor: ModelDescriptor,
  location: RemoteLocation,
  protocol: RemoteProtocol<Connection>,
  endpoints: readonly Endpoint<Connection>[],
  log: Logger,
  signal: AbortSignal | undefined,
): Promise<ModelMetadata> {
  const call: CallSettings = { timeoutMs: location.options['load-timeout'], signal };
  const declared = location.declared;
  const ask = async (e: Endpoint<Connection>): Promise<ModelMetadata> => {
    if (declared) return probe(protocol, e.connection, declared, call);
    // parseLocation requires a declared signature where the protocol has no metadata call.
    if (!protocol.metadata) throw new Error('a protocol without metadata needs a declared signature');
    return protocol.metadata(e.connection, call);
  };
  const answers = await Promise.allSettled(endpoints.map(ask));
  signal?.throwIfAborted();
  const what = declared ? 'the probe with the declared signature' : 'the metadata request';
  const refused: string[] = [];
  const unreachable: string[] = [];
  const signatures: [url: string, signature: ModelMetadata][] = [];
  answers.forEach((answer, i) => {
    const endpoint = endpoints[i] as Endpoint<Connection>;
    if (answer.status === 'fulfilled') signatures.push([endpoint.url, answer.value]);
    else if (answer.reason instanceof RemoteFailure && answer.reason.kind === 'endpoint') {
      unreachable.push(`${endpoint.url}: ${answer.reason.message}`);
      endpoint.breaker.failed(answer.reason.message);
    } else refused.push(`${endpoint.url}: ${messageOf(answer.reason)}`);
  });
  if (refused.length > 0) throw invalidModel(descriptor, `model '${location.model}' is not served as expected; ${what} failed at ${refused.join('; ')}`);
  const [first, ...others] = signatures;
  if (first === undefined) throw invalidModel(descriptor, `no endpoint is reachable: ${unreachable.join('; ')}`);
  const differing = others.find(([, s]) => signatureText(s) !== signatureText(first[1]));
  if (differing) {
    throw invalidModel(
      descriptor,
      `the endpoints serve different signatures: ${first[0]} ${signatureText(first[1])}, ${differing[0]} ${signatureText(differing[1])}`,
    );
  }
  if (unreachable.length > 0) log.warn('model loaded, but some endpoints are unreachable; calls go to the others until they answer', { unreachable });
  return first[1];
}

/** One row of zeros through the declared inputs: the server must know the model, take them, and answer the declared outputs. */
async function probe<Connection>(
  protocol: RemoteProtocol<Connection>,
  connection: Connection,
  declared: ModelMetadata,
  call: CallSettings,
): Promise<ModelMetadata> {
  const inputs: Record<string, Tensor> = {};
  for (const spec of declared.inputs)
    inputs[spec.name] = zeros(
      spec.dtype,
      spec.shape.map((d) => (d < 0 ? 1 : d)),
    );
  const outputs = await protocol.infer(connection, inputs, declared, call);
  for (const spec of declared.outputs) {
    const got = outputs[spec.name];
    if (!got) throw malformed(`no output '${spec.name}' (outputs: ${Object.keys(outputs).join(', ') || 'none'})`);
    if (got.dtype !== spec.dtype || !shapeMatches(spec.shape, got.shape)) {
      throw malformed(`output '${spec.name}' is ${got.dtype} ${formatShape(got.shape)}, declared ${spec.dtype} ${formatShape(spec.shape)}`);
    }
  }
  return declared;
}

function signatureText(signature: ModelMetadata): string {
  const specs = (list: ModelMetadata['inputs']) => list.map((s) => `${s.name}:${s.dtype}${formatShape(s.shape)}`).join(',');
  return `(${specs(signature.inputs)}) -> (${specs(signature.outputs)})`;
}

class RemoteModel<Connection> implements LoadedModel {
  private unloaded = false;

  constructor(
    private readonly modelName: string,
    private readonly signature: ModelMetadata,
    private readonly endpoints: EndpointSet<Connection>,
    private readonly protocol: RemoteProtocol<Connection>,
    private readonly options: LocationOptions,
  ) {}

  metadata(): ModelMetadata {
    return this.signature;
  }

  async infer(inputs: NamedTensors, callOptions?: CallOptions): Promise<NamedTensors> {
    const signal = callOptions?.signal;
    signal?.throwIfAborted();
    if (this.unloaded) throw this.failed('the model has been unloaded');
    const feeds: Record<string, Tensor> = {};
    let rows: number | undefined;
    for (const spec of this.signature.inputs) {
      const given = inputFor(this.signature, spec, inputs);
      if (typeof given === 'string') throw this.failed(given);
      const count = given.shape[0] ?? 1;
      if (rows !== undefined && count !== rows) throw this.failed(`the inputs disagree on the number of rows: '${spec.name}' has ${count}, the others ${rows}`);
      rows = count;
      feeds[spec.name] = given;
    }
    if (rows === 0) return emptyOutputs(this.signature);
    const maxRows = this.options['max-rows'];
    if (rows === undefined || maxRows === 0 || rows <= maxRows) return this.call(feeds, rows, signal);
    const parts: Promise<NamedTensors>[] = [];
    for (let start = 0; start < rows; start += maxRows) {
      const count = Math.min(maxRows, rows - start);
      const part = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, sliceRows(t, start, count)]));
      parts.push(this.call(part, count, signal));
    }
    const answers = await Promise.all(parts);
    const first = answers[0] as NamedTensors;
    return Object.fromEntries(Object.keys(first).map((name) => [name, concatRows(answers.map((_, i) => this.output(answers, name, i)))]));
  }

  async unload(): Promise<void> {
    if (this.unloaded) return;
    this.unloaded = true;
    await Promise.all(this.endpoints.all.map((e) => this.protocol.close(e.connection)));
  }

  /** One request, balanced, retried and circuit-broken; its outputs must have one row per input row. */
  private async call(feeds: NamedTensors, rows: number | undefined, signal: AbortSignal | undefined): Promise<NamedTensors> {
    const { options } = this;
    const settings: CallSettings = { timeoutMs: options.timeout, signal };
    try {
      return await callWithRetries(
        this.endpoints,
        async (endpoint) => {
          const outputs = await this.protocol.infer(endpoint.connection, feeds, this.signature, settings);
          for (const [name, t] of Object.entries(outputs)) {
            if (rows !== undefined && t.shape[0] !== rows) throw malformed(`output '${name}' has ${t.shape[0] ?? 'no'} rows for ${rows} input rows`);
          }
          return outputs;
        },
        { retries: options.retries, backoff: { min: options.backoff, max: options['backoff-max'], jitter: 0.5 }, signal },
      );
    } catch (err) {
      if (!(err instanceof CallFailed)) throw err;
      throw err.unavailable
        ? new SluiceError('SLUICE_ERR_MODEL_UNREACHABLE', { modelName: this.modelName, message: err.message }, { cause: err })
        : this.failed(err.message, err);
    }
  }

  /** Output `name` of part `i` of a split batch; every part must answer the same outputs. */
  private output(answers: readonly NamedTensors[], name: string, i: number): Tensor {
    const t = answers[i]?.[name];
    const head = answers[0]?.[name] as Tensor;
    if (!t || t.dtype !== head.dtype || formatShape(t.shape.slice(1)) !== formatShape(head.shape.slice(1))) {
      const got = t ? `${t.dtype} ${formatShape(t.shape)}` : 'nothing';
      throw this.failed(
        `request ${i + 1} of a batch split by max-rows answered output '${name}' as ${got}, request 1 as ${head.dtype} ${formatShape(head.shape)}`,
      );
    }
    return t;
  }

  private failed(message: string, cause?: unknown): SluiceError<'SLUICE_ERR_INFERENCE_FAILED'> {
    return new SluiceError('SLUICE_ERR_INFERENCE_FAILED', { modelName: this.modelName, message }, cause === undefined ? undefined : { cause });
  }
}
