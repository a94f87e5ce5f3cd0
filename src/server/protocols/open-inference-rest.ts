/**
 * Open Inference Protocol (KServe V2) over REST:
 *
 *   GET  /v2/health/live                       {"live": true}
 *   GET  /v2/health/ready                      {"ready": true} (503 and false when not ready)
 *   GET  /v2                                   server metadata {"name","version","extensions"}
 *   GET  /v2/models/{m}[/versions/{v}]         model metadata {"name","versions","platform","inputs","outputs"}
 *   GET  /v2/models/{m}[/versions/{v}]/ready   {"name","ready": true} (503 and false when not ready)
 *   POST /v2/models/{m}[/versions/{v}]/infer   inference
 *   POST /v2/models/{m}[/versions/{v}]/feedback  a reward for a request an inference graph routed (a Sluice extension)
 *   POST /v2/repository/index                  every model version with its state and why it failed
 *
 * Tensor `data` is JSON, flat or nested row-major. Errors are `{"error": "..."}`. A graph that
 * routes answers with the request's `id` (a new one when none was given): feedback names it.
 */
import type { SluiceError } from '../../core/errors.js';
import type { Tensor } from '../../serving/tensor.js';
import type { DataPlane } from '../data-plane.js';
import type { RestProtocol, RestRequest, RestRoute } from '../protocol.js';
import type { VersionState } from '../repository.js';
import { arrayAt, badRequest, isObject, numberAt, objectAt, shapeAt, shown, stringAt } from './json-body.js';
import { dataFromJson, jsonFromData } from './json-tensors.js';
import { datatypeOf, elementCount, expectDatatype, tensorMetadata } from './open-inference-tensors.js';

/** The Triton repository extension's state names. */
const repositoryStates: Readonly<Record<VersionState, string>> = {
  loading: 'LOADING',
  available: 'READY',
  failed: 'UNAVAILABLE',
  unloading: 'UNLOADING',
  unloaded: 'UNAVAILABLE',
};

export const openInferenceRest: RestProtocol = {
  name: 'open-inference-rest',
  transport: 'rest',
  errorBody: (error: SluiceError) => ({ error: error.message }),
  routes(plane: DataPlane): RestRoute[] {
    const metadata = (request: RestRequest) => {
      const model = plane.model(request.params.model ?? '', request.params.version);
      request.model = model.name;
      return {
        body: {
          name: model.name,
          versions: plane.servedVersions(model.name),
          platform: model.platform,
          inputs: model.signature.inputs.map(tensorMetadata),
          outputs: model.signature.outputs.map(tensorMetadata),
        },
      };
    };
    const ready = (request: RestRequest) => {
      const name = request.params.model ?? '';
      const isReady = plane.modelReady(name, request.params.version);
      request.model = name;
      return { status: isReady ? 200 : 503, body: { name, ready: isReady } };
    };
    const infer = (request: RestRequest) => inferRest(plane, request);
    const feedback = (request: RestRequest) => {
      const model = plane.model(request.params.model ?? '', request.params.version);
      request.model = model.name;
      const body = objectAt(request.json(), 'the request body');
      const id = stringAt(body.id, 'id');
      const routing = model.feedback({ reward: numberAt(body.reward, 'reward'), requestId: id });
      return { body: { model_name: model.name, model_version: model.version, id, routing } };
    };
    return [
      { method: 'GET', path: '/v2/health/live', handle: () => ({ body: { live: plane.live() } }) },
      {
        method: 'GET',
        path: '/v2/health/ready',
        handle: () => {
          const isReady = plane.ready();
          return { status: isReady ? 200 : 503, body: { ready: isReady } };
        },
      },
      { method: 'GET', path: '/v2', handle: () => ({ body: { name: plane.info.name, version: plane.info.version, extensions: plane.info.extensions } }) },
      { method: 'GET', path: '/v2/models/{model}', handle: metadata },
      { method: 'GET', path: '/v2/models/{model}/versions/{version}', handle: metadata },
      { method: 'GET', path: '/v2/models/{model}/ready', handle: ready },
      { method: 'GET', path: '/v2/models/{model}/versions/{version}/ready', handle: ready },
      { method: 'POST', path: '/v2/models/{model}/infer', handle: infer },
      { method: 'POST', path: '/v2/models/{model}/versions/{version}/infer', handle: infer },
      { method: 'POST', path: '/v2/models/{model}/feedback', handle: feedback },
      { method: 'POST', path: '/v2/models/{model}/versions/{version}/feedback', handle: feedback },
      {
        method: 'POST',
        path: '/v2/repository/index',
        handle: (request) => {
          const onlyReady = request.body.length > 0 && objectAt(request.json(), 'the request body').ready === true;
          const reports = plane.reports().filter((r) => !onlyReady || r.state === 'available');
          return { body: reports.map((r) => ({ name: r.model, version: String(r.version), state: repositoryStates[r.state], reason: r.reason })) };
        },
      },
    ];
  },
};

async function inferRest(plane: DataPlane, request: RestRequest): Promise<{ body: unknown }> {
  const model = plane.model(request.params.model ?? '', request.params.version);
  request.model = model.name;
  const body = objectAt(request.json(), 'the request body');
  if (body.id !== undefined && typeof body.id !== 'string') throw badRequest(`id must be a string, got ${shown(body.id)}`);
  const id = model.requestId(body.id);
  const inputs: Record<string, Tensor> = {};
  arrayAt(body.inputs, 'inputs').forEach((value, i) => {
    const where = `inputs[${i}]`;
    const input = objectAt(value, where);
    const name = stringAt(input.name, `${where}.name`);
    if (Object.hasOwn(inputs, name)) throw badRequest(`input '${name}' is given twice`);
    if (isObject(input.parameters) && input.parameters.binary_data_size !== undefined) {
      throw badRequest(`input '${name}': binary tensor data is not supported over REST; send "data" as JSON, or use gRPC raw_input_contents`);
    }
    const spec = expectDatatype(model, name, stringAt(input.datatype, `${where}.datatype`));
    const shape = shapeAt(input.shape, `${where}.shape`);
    const data = arrayAt(input.data, `${where}.data`).flat(Infinity);
    if (data.length !== elementCount(shape)) {
      throw badRequest(`input '${name}' has ${data.length} values in "data" but its shape [${shape.join(',')}] holds ${elementCount(shape)}`);
    }
    inputs[name] = { dtype: spec.dtype, shape, data: dataFromJson(data, spec.dtype, `input '${name}' data`) };
  });
  const requested =
    body.outputs === undefined ? [] : arrayAt(body.outputs, 'outputs').map((o, i) => stringAt(objectAt(o, `outputs[${i}]`).name, `outputs[${i}].name`));
  const outputs = await model.infer(inputs, requested, id);
  return {
    body: {
      model_name: model.name,
      model_version: model.version,
      ...(id === undefined ? {} : { id }),
      outputs: Object.entries(outputs).map(([name, t]) => ({ name, datatype: datatypeOf[t.dtype], shape: [...t.shape], data: jsonFromData(t) })),
    },
  };
}
