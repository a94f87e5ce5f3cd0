/**
 * TensorFlow Serving's REST API:
 *
 *   POST /v1/models/{m}[/versions/{v}]:predict    {"signature_name"?, "instances": [...]} → {"predictions": [...]}
 *                                                {"signature_name"?, "inputs": ...}      → {"outputs": ...}
 *   GET  /v1/models/{m}[/versions/{v}]            {"model_version_status": [...]}
 *   GET  /v1/models/{m}[/versions/{v}]/metadata   the serving_default signature
 *
 * Row form (`instances`): a list with one entry per row; for a model with one input each entry
 * is that input's row, otherwise an object naming every input. Columnar form (`inputs`): the
 * one input's whole tensor, or an object of tensors by input name. Answers follow the form of
 * the request: with one output, its rows (or tensor) directly; with several, objects by name.
 * Values are nested JSON arrays in the dtype the model expects. Errors are `{"error": "..."}`.
 */
import type { SluiceError } from '../../core/errors.js';
import type { NamedTensors, Tensor } from '../../serving/tensor.js';
import type { DataPlane, ServedModel } from '../data-plane.js';
import type { RestProtocol, RestRequest, RestRoute } from '../protocol.js';
import { arrayAt, badRequest, isObject, objectAt, shown } from './json-body.js';
import { nestedFromTensor, rowsFromTensor, tensorFromNested } from './json-tensors.js';
import { signatureEntry } from './tf-tensors.js';
import { checkSignature, defaultSignature, versionStatuses } from './tf-serving.js';

export const tfServingRest: RestProtocol = {
  name: 'tf-serving-rest',
  transport: 'rest',
  errorBody: (error: SluiceError) => ({ error: error.message }),
  routes(plane: DataPlane): RestRoute[] {
    const status = (request: RestRequest) => {
      const name = request.params.model ?? '';
      const statuses = versionStatuses(plane, name, request.params.version);
      request.model = name;
      return {
        body: {
          model_version_status: statuses.map((s) => ({
            version: String(s.version),
            state: s.state,
            status: { error_code: s.errorCode === 0 ? 'OK' : 'UNKNOWN', error_message: s.errorMessage },
          })),
        },
      };
    };
    const metadata = (request: RestRequest) => {
      const model = plane.model(request.params.model ?? '', request.params.version);
      request.model = model.name;
      const entries = (specs: ServedModel['signature']['inputs']) => Object.fromEntries(specs.map((spec) => [spec.name, signatureEntry(spec)]));
      return {
        body: {
          model_spec: { name: model.name, signature_name: '', version: model.version },
          metadata: {
            signature_def: {
              signature_def: {
                [defaultSignature]: {
                  inputs: entries(model.signature.inputs),
                  outputs: entries(model.signature.outputs),
                  method_name: 'tensorflow/serving/predict',
                },
              },
            },
          },
        },
      };
    };
    const predict = (request: RestRequest) => predictRest(plane, request);
    return [
      { method: 'POST', path: '/v1/models/{model}:predict', handle: predict },
      { method: 'POST', path: '/v1/models/{model}/versions/{version}:predict', handle: predict },
      { method: 'GET', path: '/v1/models/{model}', handle: status },
      { method: 'GET', path: '/v1/models/{model}/versions/{version}', handle: status },
      { method: 'GET', path: '/v1/models/{model}/metadata', handle: metadata },
      { method: 'GET', path: '/v1/models/{model}/versions/{version}/metadata', handle: metadata },
    ];
  },
};

async function predictRest(plane: DataPlane, request: RestRequest): Promise<{ body: unknown }> {
  const model = plane.model(request.params.model ?? '', request.params.version);
  request.model = model.name;
  const body = objectAt(request.json(), 'the request body');
  if (body.signature_name !== undefined) {
    if (typeof body.signature_name !== 'string') throw badRequest(`signature_name must be a string, got ${shown(body.signature_name)}`);
    checkSignature(body.signature_name, model.name);
  }
  const hasRows = body.instances !== undefined;
  if (hasRows === (body.inputs !== undefined)) {
    throw badRequest(`the request body must have ${hasRows ? 'either' : 'one of'} "instances" (rows) or "inputs" (columns)${hasRows ? ', not both' : ''}`);
  }
  const inputs = hasRows ? fromInstances(model, arrayAt(body.instances, 'instances')) : fromColumns(model, body.inputs);
  const outputs = await model.infer(inputs);
  const named = Object.entries(outputs);
  if (!hasRows) {
    return { body: { outputs: named.length === 1 ? nestedFromTensor((named[0] as [string, Tensor])[1]) : mapValues(outputs, nestedFromTensor) } };
  }
  if (named.length === 1) return { body: { predictions: rowsFromTensor((named[0] as [string, Tensor])[1]) } };
  const columns = mapValues(outputs, rowsFromTensor);
  const rows = Math.min(...Object.values(columns).map((c) => c.length));
  return { body: { predictions: Array.from({ length: rows }, (_, i) => mapValues(columns, (column) => column[i])) } };
}

/** Row form: each instance is the single input's row, or an object with a row of every input. */
function fromInstances(model: ServedModel, instances: readonly unknown[]): NamedTensors {
  if (instances.length === 0) throw badRequest('"instances" is empty: give at least one row');
  const specs = model.signature.inputs;
  if (!isObject(instances[0])) {
    const [only] = specs;
    if (specs.length !== 1 || !only) {
      throw badRequest(
        `model ${model.name} takes ${specs.length} inputs (${specs.map((s) => s.name).join(', ')}): each instance must be an object naming them`,
      );
    }
    return { [only.name]: tensorFromNested(instances, only.dtype, 'instances') };
  }
  const named = instances.map((instance, i) => objectAt(instance, `instances[${i}]`));
  const inputs: Record<string, Tensor> = {};
  for (const name of new Set(named.flatMap((instance) => Object.keys(instance)))) {
    const spec = model.expectInput(name);
    const column = named.map((instance, i) => {
      if (!(name in instance)) throw badRequest(`instances[${i}] has no '${name}': every instance names every input`);
      return instance[name];
    });
    inputs[name] = tensorFromNested(column, spec.dtype, `instances[*].${name}`);
  }
  return inputs;
}

/** Columnar form: the single input's tensor, or an object of tensors by input name. */
function fromColumns(model: ServedModel, columns: unknown): NamedTensors {
  if (!isObject(columns)) {
    const [only] = model.signature.inputs;
    if (model.signature.inputs.length !== 1 || !only) {
      throw badRequest(`model ${model.name} takes ${model.signature.inputs.length} inputs: "inputs" must be an object naming them`);
    }
    return { [only.name]: tensorFromNested(columns, only.dtype, 'inputs') };
  }
  const inputs: Record<string, Tensor> = {};
  for (const [name, value] of Object.entries(columns)) inputs[name] = tensorFromNested(value, model.expectInput(name).dtype, `inputs.${name}`);
  return inputs;
}

function mapValues<T, U>(values: Readonly<Record<string, U>>, f: (v: U) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, f(v)]));
}
