/**
 * Seldon Core 1 REST predictions:
 *
 *   POST /api/v1.0/predictions                                  the model named by the `seldon` header,
 *                                                               else the server's default Seldon model,
 *                                                               else the repository's only model
 *   POST /seldon/{namespace}/{deployment}/api/v1.0/predictions  the model named {deployment} (Seldon's ingress path)
 *   GET  /api/v1.0/metadata/{m}                                 model metadata, in its Open Inference form
 *   POST /api/v1.0/feedback                                     a reward for a request an inference graph routed
 *   POST /seldon/{namespace}/{deployment}/api/v1.0/feedback     (the model chosen as for predictions)
 *
 * Request `{"data": {"names"?: [...], "ndarray": [[...]]}}` or `{"data": {"names"?, "tensor":
 * {"shape": [...], "values": [...]}}}`. A model with one input takes the whole payload as that
 * input. A model with several inputs takes a [rows, columns] payload, one column per input,
 * named by `data.names` or in the model's input order (the recommender: columns `users`,
 * `products`). The answer uses the request's form: the model's one output, or its outputs side by
 * side as columns, with their names, and `meta.requestPath` naming the model and version. A
 * graph that routes adds `meta.puid` (the request's, or a new one) and `meta.routing` (router →
 * child index), which feedback sends back: `{"response": {"meta": {...}}, "reward": 1}`.
 * Errors are `{"status": {"code", "info", "reason", "status": "FAILURE"}}`.
 */
import type { SluiceError } from '../../core/errors.js';
import { tensor, type NamedTensors, type Tensor } from '../../serving/tensor.js';
import type { DataPlane, ServedModel } from '../data-plane.js';
import type { RestProtocol, RestRequest, RestRoute } from '../protocol.js';
import { rowsOf } from '../../serving/tensor-rows.js';
import { arrayAt, badRequest, numberAt, objectAt, shapeAt, shown, type JsonObject } from './json-body.js';
import { dataFromJson, flattenNested, jsonFromData, nestedFromTensor, tensorFromNested } from './json-tensors.js';
import { elementCount, tensorMetadata } from './open-inference-tensors.js';

export interface SeldonOptions {
  /** The model `POST /api/v1.0/predictions` serves when no `seldon` header names one. */
  readonly defaultModel?: string;
}

type Form = 'ndarray' | 'tensor';

export function seldonRest(options: SeldonOptions = {}): RestProtocol {
  return {
    name: 'seldon-rest',
    transport: 'rest',
    errorBody: (error: SluiceError) => ({ status: { code: error.httpStatus, info: error.message, reason: error.code, status: 'FAILURE' } }),
    routes(plane: DataPlane): RestRoute[] {
      const predict = (request: RestRequest) => predictSeldon(plane, request, chooseModel(plane, request, options));
      const feedback = (request: RestRequest) => feedbackSeldon(plane, request, chooseModel(plane, request, options));
      return [
        { method: 'POST', path: '/api/v1.0/predictions', handle: predict },
        { method: 'POST', path: '/seldon/{namespace}/{deployment}/api/v1.0/predictions', handle: predict },
        { method: 'POST', path: '/api/v1.0/feedback', handle: feedback },
        { method: 'POST', path: '/seldon/{namespace}/{deployment}/api/v1.0/feedback', handle: feedback },
        {
          method: 'GET',
          path: '/api/v1.0/metadata/{model}',
          handle: (request) => {
            const model = plane.model(request.params.model ?? '');
            request.model = model.name;
            const { inputs, outputs } = model.signature;
            return {
              body: {
                name: model.name,
                versions: plane.servedVersions(model.name),
                platform: model.platform,
                inputs: inputs.map(tensorMetadata),
                outputs: outputs.map(tensorMetadata),
              },
            };
          },
        },
      ];
    },
  };
}

function chooseModel(plane: DataPlane, request: RestRequest, options: SeldonOptions): string {
  const header = request.headers.seldon;
  const named = request.params.deployment ?? (Array.isArray(header) ? header[0] : header) ?? options.defaultModel;
  if (named !== undefined && named !== '') return named;
  const models = plane.models();
  if (models.length === 1) return models[0] as string;
  throw badRequest(
    `no model chosen: the repository serves ${models.length} models (${models.join(', ')}); name one with the 'seldon' header, ` +
      `the path /seldon/<namespace>/<model>/api/v1.0/predictions, or start the server with --seldon-model`,
  );
}

async function predictSeldon(plane: DataPlane, request: RestRequest, modelName: string): Promise<{ body: unknown }> {
  const model = plane.model(modelName);
  request.model = model.name;
  const body = objectAt(request.json(), 'the request body');
  const data = objectAt(body.data, 'data');
  const meta = body.meta === undefined ? {} : objectAt(body.meta, 'meta');
  if (meta.puid !== undefined && typeof meta.puid !== 'string') throw badRequest(`meta.puid must be a string, got ${shown(meta.puid)}`);
  const puid = model.requestId(meta.puid);
  const form: Form | undefined = data.ndarray !== undefined ? 'ndarray' : data.tensor !== undefined ? 'tensor' : undefined;
  if (!form) {
    const other = ['jsonData', 'strData', 'binData'].find((field) => data[field] !== undefined);
    throw badRequest(other ? `data.${other} payloads are not supported: send data.ndarray or data.tensor` : 'data must have "ndarray" or "tensor"');
  }
  const names = data.names === undefined ? undefined : arrayAt(data.names, 'data.names').map((n, i) => (typeof n === 'string' ? n : badName(i)));
  const outputs = await model.infer(inputsOf(model, form, data, names), undefined, puid);
  const { columns, result } = joinOutputs(model, outputs);
  const payload = form === 'ndarray' ? { ndarray: nestedFromTensor(result) } : { tensor: { shape: [...result.shape], values: jsonFromData(result) } };
  const routing = puid === undefined ? {} : model.routing(puid);
  return {
    body: {
      data: { names: columns, ...payload },
      meta: { ...(puid === undefined ? {} : { puid }), ...(Object.keys(routing).length > 0 ? { routing } : {}), requestPath: { [model.name]: model.version } },
    },
  };
}

/** Seldon's Feedback message: the reward, and the answer's `meta` naming the routes (`routing`) or the request (`puid`). */
function feedbackSeldon(plane: DataPlane, request: RestRequest, modelName: string): { body: unknown } {
  const model = plane.model(modelName);
  request.model = model.name;
  const body = objectAt(request.json(), 'the request body');
  const reward = numberAt(body.reward, 'reward');
  const meta = objectAt(objectAt(body.response, 'response').meta, 'response.meta');
  let routing: Record<string, number> | undefined;
  if (meta.routing !== undefined) {
    const given = objectAt(meta.routing, 'response.meta.routing');
    routing = Object.fromEntries(Object.entries(given).map(([router, child]) => [router, numberAt(child, `response.meta.routing.${router}`)]));
  }
  const puid = typeof meta.puid === 'string' && meta.puid !== '' ? meta.puid : undefined;
  if (routing === undefined && puid === undefined) throw badRequest('response.meta must have "routing" or "puid": the routes or the request to credit');
  const credited = model.feedback({ reward, ...(routing ? { routing } : { requestId: puid }) });
  return { body: { meta: { ...(puid === undefined ? {} : { puid }), routing: credited, requestPath: { [model.name]: model.version } } } };
}

function badName(index: number): never {
  throw badRequest(`data.names[${index}] must be a string`);
}

/** The payload as shape and flat values, in either form. */
function payloadOf(form: Form, data: JsonObject): { shape: number[]; values: readonly unknown[] } {
  if (form === 'ndarray') return flattenNested(data.ndarray, 'data.ndarray');
  const t = objectAt(data.tensor, 'data.tensor');
  const shape = shapeAt(t.shape, 'data.tensor.shape');
  const values = arrayAt(t.values, 'data.tensor.values');
  if (values.length !== elementCount(shape))
    throw badRequest(`data.tensor has ${values.length} values but its shape [${shape.join(',')}] holds ${elementCount(shape)}`);
  return { shape, values };
}

function inputsOf(model: ServedModel, form: Form, data: JsonObject, names: readonly string[] | undefined): NamedTensors {
  const specs = model.signature.inputs;
  const [only] = specs;
  if (specs.length === 1 && only) {
    if (form === 'ndarray') return { [only.name]: tensorFromNested(data.ndarray, only.dtype, 'data.ndarray') };
    const { shape, values } = payloadOf(form, data);
    return { [only.name]: tensor(only.dtype, shape, dataFromJson(values, only.dtype, 'data.tensor.values')) };
  }
  const { shape, values } = payloadOf(form, data);
  const columns = names ?? specs.map((spec) => spec.name);
  const [rows = 0, width] = shape;
  if (shape.length !== 2 || width !== columns.length) {
    throw model.invalid(
      `it takes ${specs.length} inputs (${specs.map((s) => s.name).join(', ')}): send a [rows, ${columns.length}] array, one column per input ` +
        `(named by data.names or in that order), not shape [${shape.join(',')}]`,
    );
  }
  const inputs: Record<string, Tensor> = {};
  columns.forEach((name, j) => {
    const spec = model.expectInput(name);
    const column = Array.from({ length: rows }, (_, r) => values[r * width + j]);
    inputs[name] = tensor(spec.dtype, spec.shape.length === 1 ? [rows] : [rows, 1], dataFromJson(column, spec.dtype, `data column ${j} ('${name}')`));
  });
  return inputs;
}

/** The one output, or the outputs side by side as the columns of one [rows, n] tensor. */
function joinOutputs(model: ServedModel, outputs: NamedTensors): { columns: string[]; result: Tensor } {
  const named = Object.entries(outputs);
  const [first] = named;
  if (named.length === 1 && first) return { columns: first[1].shape.slice(1).every((d) => d === 1) ? [first[0]] : [], result: first[1] };
  const rows = first ? rowsOf(first[1]) : 0;
  const fits = named.every(([, t]) => t.dtype !== 'string' && t.shape.length <= 2 && rowsOf(t) === rows && t.data.length === rows);
  if (!fits)
    throw model.invalid(
      `its outputs (${named.map(([n]) => n).join(', ')}) are not one value per row each: Seldon cannot carry them as one tensor; use Open Inference`,
    );
  const values = new Float64Array(rows * named.length);
  named.forEach(([, t], j) => jsonFromData(t).forEach((v, r) => (values[r * named.length + j] = Number(v))));
  return { columns: named.map(([n]) => n), result: { dtype: 'float64', shape: [rows, named.length], data: values } };
}
