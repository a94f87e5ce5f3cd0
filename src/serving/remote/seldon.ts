/**
 * Seldon Core 1 REST: `POST /api/v1.0/predictions` with `{"data":{"names":[...],"ndarray":[...]}}`,
 * routed by the `seldon` (deployment) and `namespace` headers. An ndarray is one matrix, a row
 * per batch row: several inputs become its columns, named by `names` (each input must then be
 * one column, `[?]` or `[?,1]`); a single input is the matrix itself. Answers come as `ndarray`
 * or `tensor` (`shape` + flat `values`); several outputs are the answer's columns. The signature
 * is the location's declared one, or the model metadata at `GET /api/v1.0/metadata/{model}`
 * in its Open Inference form.
 */
import type { ModelMetadata } from '../executor.js';
import type { NamedTensors, Tensor, TensorSpec } from '../tensor.js';
import { httpConnections, type HttpEndpoint } from './http-transport.js';
import type { RemoteLocation } from './location.js';
import { signatureOf } from './open-inference.js';
import type { RemoteProtocol } from './protocol.js';
import { elementCount, flatten, fromJsonValues, jsonObject, jsonValues, malformed, nest } from './wire-tensors.js';

export function seldonRest(location: RemoteLocation): RemoteProtocol<HttpEndpoint> {
  const { headers } = location;
  return {
    ...httpConnections(location.options.connections),
    async metadata(endpoint, call) {
      const path = `/api/v1.0/metadata/${encodeURIComponent(location.model)}`;
      const answer = await endpoint.callJson({ method: 'GET', path, headers, ...call });
      return checkedSignature(signatureOf(answer));
    },
    async infer(endpoint, inputs, signature, call) {
      const body = JSON.stringify({ data: { names: signature.inputs.map((s) => s.name), ndarray: matrix(inputs, checkedSignature(signature).inputs) } });
      const answer = jsonObject(await endpoint.callJson({ method: 'POST', path: '/api/v1.0/predictions', body, headers, ...call }), 'the answer');
      return outputsOf(jsonObject(answer.data, 'the answer data'), signature.outputs);
    },
  };
}

/** A signature whose inputs fit one ndarray: one input of any shape, or several one-column ones. */
function checkedSignature(signature: ModelMetadata): ModelMetadata {
  if (signature.inputs.length > 1) {
    const wide = signature.inputs.find((s) => s.shape.length > 2 || (s.shape.length === 2 && s.shape[1] !== 1));
    if (wide)
      throw malformed(
        `Seldon's ndarray is one matrix: with several inputs each must be one column ([?] or [?,1]), but '${wide.name}' is [${wide.shape.join(',')}]`,
      );
  }
  return signature;
}

function matrix(inputs: NamedTensors, specs: readonly TensorSpec[]): unknown {
  const [first] = specs;
  if (specs.length === 1 && first) {
    const t = inputs[first.name] as Tensor;
    return nest(jsonValues(t), t.shape);
  }
  const columns = specs.map((s) => jsonValues(inputs[s.name] as Tensor));
  const rows = columns[0]?.length ?? 0;
  return Array.from({ length: rows }, (_, row) => columns.map((column) => column[row]));
}

function outputsOf(data: Record<string, unknown>, specs: readonly TensorSpec[]): NamedTensors {
  let shape: number[];
  let values: unknown[];
  if ('ndarray' in data) ({ shape, values } = flatten(data.ndarray, 'ndarray'));
  else if ('tensor' in data) {
    const t = jsonObject(data.tensor, 'tensor');
    if (!Array.isArray(t.shape) || !Array.isArray(t.values)) throw malformed('tensor needs shape and values arrays');
    shape = t.shape.map(Number);
    values = t.values;
    if (values.length !== elementCount(shape, 'tensor')) throw malformed(`tensor has ${values.length} values for shape [${shape.join(',')}]`);
  } else throw malformed(`the answer data has neither ndarray nor tensor (keys: ${Object.keys(data).join(', ')})`);

  const [single] = specs;
  if (specs.length === 1 && single)
    return { [single.name]: { dtype: single.dtype, shape, data: fromJsonValues(single.dtype, values, `output '${single.name}'`) } };
  const [rows = 0, width = 1] = shape;
  if (shape.length !== 2 || width !== specs.length) {
    throw malformed(`the answer is [${shape.join(',')}], but the model's ${specs.length} outputs need one column each: [n,${specs.length}]`);
  }
  const names = Array.isArray(data.names) && data.names.length === width ? (data.names as unknown[]) : specs.map((s) => s.name);
  const outputs: Record<string, Tensor> = {};
  for (const spec of specs) {
    const column = names.indexOf(spec.name);
    if (column < 0) throw malformed(`the answer has no column '${spec.name}' (names: ${names.join(', ')})`);
    const where = `output '${spec.name}'`;
    const picked = Array.from({ length: rows }, (_, row) => values[row * width + column]);
    outputs[spec.name] = { dtype: spec.dtype, shape: spec.shape.length === 1 ? [rows] : [rows, 1], data: fromJsonValues(spec.dtype, picked, where) };
  }
  return outputs;
}
