/**
 * Where a remote model lives: the descriptor's `modelSourceLocation`, parsed once, strictly,
 * into a frozen value. Form (docs/remote-executors.md):
 *
 *   <http|grpc>://<host:port>[,<host:port>...]/<model>[?option=value&...]
 *
 * Options are declared as config parameters, so they parse (durations as `200ms`, bounds,
 * unknown keys) exactly like streamlet config. Every problem is reported, all at once, in one
 * SLUICE_ERR_MODEL_INVALID.
 */
import { config, parseConfigValues, type ConfigValues } from '../../core/config.js';
import type { ModelDescriptor } from '../descriptor.js';
import type { ModelMetadata } from '../executor.js';
import { invalidModel } from '../model-source.js';
import type { DType, TensorSpec } from '../tensor.js';
import { balancePolicies } from './endpoints.js';

export type RemoteModelType = 'OPEN_INFERENCE' | 'TENSORFLOW_SERVING' | 'SELDON';
export type Transport = 'http' | 'grpc';

const routingName = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/;

export const locationOptions = {
  timeout: config.duration({ description: 'Deadline of each attempt of an inference call', default: 1_000, min: 1, max: 600_000 }),
  'load-timeout': config.duration({ description: 'Deadline of the metadata call that loads the model', default: 5_000, min: 1, max: 600_000 }),
  retries: config.integer({ description: 'Attempts after a failed first one, each on another endpoint when there is one', default: 2, min: 0, max: 10 }),
  backoff: config.duration({ description: 'Wait before the first retry; doubles per retry, with jitter', default: 10, min: 0, max: 60_000 }),
  'backoff-max': config.duration({ description: 'Longest wait between retries', default: 200, min: 0, max: 60_000 }),
  balance: config.oneOf({ description: 'How an endpoint is picked for each call', values: balancePolicies, default: 'round-robin' }),
  'circuit-failures': config.integer({ description: 'Consecutive failures that open an endpoint’s circuit', default: 5, min: 1, max: 1_000 }),
  'circuit-cooldown': config.duration({
    description: 'How long an open circuit skips its endpoint before one probe call',
    default: 1_000,
    min: 1,
    max: 600_000,
  }),
  'max-rows': config.integer({ description: 'Most rows in one request; a bigger batch is split into concurrent requests (0: no limit)', default: 0, min: 0 }),
  connections: config.integer({ description: 'Kept-alive HTTP connections per endpoint', default: 8, min: 1, max: 1_024 }),
  version: config.string({ description: 'Model version to call (default: the server’s choice, usually the newest)', default: '', pattern: /^(\d+)?$/ }),
  signature: config.string({ description: 'TensorFlow Serving signature name', default: 'serving_default', pattern: /^[A-Za-z0-9_./-]+$/ }),
  inputs: config.string({ description: 'Declared input tensors, name:dtype[dims],...', default: '' }),
  outputs: config.string({ description: 'Declared output tensors, name:dtype[dims],...', default: '' }),
  seldon: config.string({ description: 'Seldon deployment name, sent as the `seldon` header', default: '', pattern: routingName }),
  namespace: config.string({ description: 'Kubernetes namespace, sent as the `namespace` header', default: '', pattern: routingName }),
};

export type LocationOptions = ConfigValues<typeof locationOptions>;
type OptionName = keyof typeof locationOptions;

/** Options that only some model types or transports understand; the rest apply everywhere. */
const appliesTo: Partial<Record<OptionName, { readonly types?: readonly RemoteModelType[]; readonly transport?: Transport }>> = {
  connections: { transport: 'http' },
  version: { types: ['OPEN_INFERENCE', 'TENSORFLOW_SERVING'] },
  signature: { types: ['TENSORFLOW_SERVING'] },
  inputs: { types: ['TENSORFLOW_SERVING', 'SELDON'] },
  outputs: { types: ['TENSORFLOW_SERVING', 'SELDON'] },
};

const transports: Readonly<Record<RemoteModelType, readonly Transport[]>> = {
  OPEN_INFERENCE: ['http', 'grpc'],
  TENSORFLOW_SERVING: ['http', 'grpc'],
  SELDON: ['http'],
};

export interface RemoteLocation {
  readonly transport: Transport;
  /** `host:port` of each endpoint, in the order given. */
  readonly endpoints: readonly string[];
  /** The model's name on the server. */
  readonly model: string;
  readonly options: LocationOptions;
  /** The signature the location declares (`inputs` and `outputs`), when it does. */
  readonly declared: ModelMetadata | undefined;
  /** Request headers (HTTP) or metadata (gRPC) every call carries. */
  readonly headers: Readonly<Record<string, string>>;
}

const form = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;
const modelName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function parseLocation(descriptor: ModelDescriptor, type: RemoteModelType): RemoteLocation {
  const location = descriptor.modelSourceLocation ?? '';
  const example = `${transports[type][transports[type].length - 1]}://127.0.0.1:8001/my-model`;
  if (location.trim() === '')
    throw invalidModel(descriptor, `a ${type} model is named by its server's URL in modelSourceLocation, e.g. ${example}; the descriptor has none`);
  if (descriptor.modelBytes !== null && descriptor.modelBytes.length > 0) {
    throw invalidModel(descriptor, `a ${type} model lives on its server, at modelSourceLocation; the descriptor must not carry modelBytes`);
  }
  const problems: string[] = [];
  const parts = form.exec(location);
  if (!parts) throw invalid(descriptor, location, [`it is not <scheme>://<host:port>[,<host:port>...]/<model>[?options], e.g. ${example}`]);
  const [, scheme = '', authority = '', path = '', query = '', fragment] = parts;

  const transport = scheme.toLowerCase() as Transport;
  if (!transports[type].includes(transport)) {
    problems.push(`scheme '${scheme}' is not supported for ${type}: use ${transports[type].map((t) => `${t}://`).join(' or ')}`);
  }
  const endpoints = parseEndpoints(authority, transport, problems);

  const name = path.replace(/^\//, '');
  if (name === '') problems.push(`it names no model: put the server's model name in the path, e.g. ${example}`);
  else if (!modelName.test(name)) {
    problems.push(
      name.includes('/')
        ? `path '${path}' must be one segment, the model name (a version goes in ?version=)`
        : `model name '${name}' may hold only letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
  if (fragment !== undefined) problems.push(`a fragment ('${fragment}') means nothing here`);

  const options = parseOptions(query.slice(1), type, transport, problems);
  const declared = options && declaredSignature(options, type, transport, problems);
  if (problems.length > 0 || !options) throw invalid(descriptor, location, problems);

  const headers: Record<string, string> = {};
  const seldon = options.seldon || (type === 'SELDON' ? name : '');
  if (seldon) headers.seldon = seldon;
  if (options.namespace) headers.namespace = options.namespace;
  return Object.freeze({ transport, endpoints: Object.freeze(endpoints), model: name, options, declared, headers: Object.freeze(headers) });
}

function invalid(descriptor: ModelDescriptor, location: string, problems: readonly string[]) {
  return invalidModel(descriptor, `modelSourceLocation '${location}': ${problems.join('; ')}`);
}

function parseEndpoints(authority: string, transport: Transport, problems: string[]): string[] {
  if (authority === '') {
    problems.push('it names no server: give host:port after ://');
    return [];
  }
  const endpoints: string[] = [];
  authority.split(',').forEach((given, i) => {
    const which = `endpoint ${i + 1} ('${given}')`;
    let url: URL;
    try {
      url = new URL(`http://${given}`);
    } catch {
      problems.push(`${which} is not a host:port`);
      return;
    }
    if (given === '' || url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      problems.push(`${which} is not a host:port`);
      return;
    }
    if (url.port === '' && !/:\d+$/.test(given)) {
      if (transport === 'grpc') {
        problems.push(`${which} has no port: gRPC endpoints need one, e.g. ${url.hostname}:8001`);
        return;
      }
    }
    const port = url.port === '' ? (/:(\d+)$/.exec(given)?.[1] ?? '80') : url.port;
    if (Number(port) === 0) {
      problems.push(`${which} has port 0`);
      return;
    }
    const endpoint = `${url.hostname}:${Number(port)}`;
    if (endpoints.includes(endpoint)) problems.push(`${which} is given twice`);
    else endpoints.push(endpoint);
  });
  return endpoints;
}

function parseOptions(query: string, type: RemoteModelType, transport: Transport, problems: string[]): LocationOptions | undefined {
  const raw: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    if (Object.hasOwn(raw, key)) problems.push(`option ${key} is given twice`);
    raw[key] = value;
  }
  const { values, problems: invalid } = parseConfigValues(locationOptions, raw);
  for (const problem of invalid) problems.push(`option ${problem.key} ${problem.message}`);
  for (const key of Object.keys(raw)) {
    const scope = appliesTo[key as OptionName];
    if (scope?.types && !scope.types.includes(type)) problems.push(`option ${key} applies to ${scope.types.join(' and ')} only, not ${type}`);
    if (scope?.transport && scope.transport !== transport) problems.push(`option ${key} applies to ${scope.transport}:// endpoints only`);
  }
  if (values['backoff-max'] < values.backoff) problems.push(`option backoff-max (${values['backoff-max']}ms) is below backoff (${values.backoff}ms)`);
  return invalid.length > 0 ? undefined : values;
}

const dtypes: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool', 'string'];
const tensorForm = /^([A-Za-z_][A-Za-z0-9_./:-]*?):([a-z0-9]+)\[([^\]]*)\]$/;

/**
 * `inputs` and `outputs` declare the signature for servers that cannot report it (TensorFlow
 * Serving over gRPC, Seldon): both or neither; over gRPC, TensorFlow Serving needs them.
 */
function declaredSignature(options: LocationOptions, type: RemoteModelType, transport: Transport, problems: string[]): ModelMetadata | undefined {
  const inputs = declaredTensors('inputs', options.inputs, problems);
  const outputs = declaredTensors('outputs', options.outputs, problems);
  if ((inputs === undefined) !== (outputs === undefined)) {
    problems.push('options inputs and outputs declare the signature together: give both or neither');
    return undefined;
  }
  if (inputs === undefined && type === 'TENSORFLOW_SERVING' && transport === 'grpc') {
    problems.push(
      "TensorFlow Serving's gRPC API here reports no signature: declare it, e.g. ?inputs=users:float32[?,1],products:float32[?,1]&outputs=predictions:float32[?,1]",
    );
  }
  return inputs && outputs ? Object.freeze({ inputs, outputs }) : undefined;
}

function declaredTensors(option: 'inputs' | 'outputs', text: string, problems: string[]): readonly TensorSpec[] | undefined {
  if (text === '') return undefined;
  const specs: TensorSpec[] = [];
  // Commas separate tensors and dimensions: split only on those outside brackets.
  for (const part of text.split(/,(?![^[]*\])/)) {
    const match = tensorForm.exec(part);
    const dtype = match?.[2] as DType | undefined;
    const dims = match?.[3]?.split(',').map((d) => d.trim());
    if (!match || dims === undefined || dtype === undefined) {
      problems.push(`option ${option}: '${part}' is not name:dtype[dims], e.g. users:float32[?,1]`);
      continue;
    }
    if (!dtypes.includes(dtype)) problems.push(`option ${option}: '${part}' has dtype ${dtype}; known: ${dtypes.join(', ')}`);
    const shape = dims.map((d) => (d === '?' || d === '-1' ? -1 : /^\d+$/.test(d) ? Number(d) : Number.NaN));
    if (match[3] === '' || shape.some(Number.isNaN)) problems.push(`option ${option}: '${part}' has dimensions [${match[3]}]; each must be a size or ?`);
    else if (shape[0] !== -1) problems.push(`option ${option}: '${part}' must have ? as its first (batch) dimension`);
    if (specs.some((s) => s.name === match[1])) problems.push(`option ${option}: tensor '${match[1]}' is declared twice`);
    specs.push(Object.freeze({ name: match[1] as string, dtype, shape: Object.freeze(shape) }));
  }
  return Object.freeze(specs);
}
