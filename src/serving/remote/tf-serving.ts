/**
 * TensorFlow Serving. REST: `GET /v1/models/{m}[/versions/{v}]/metadata` for the signature,
 * `POST ...:predict` with the columnar form (`inputs` → `outputs`). gRPC:
 * `tensorflow.serving.PredictionService/Predict`, tensors as TensorProto with `tensor_content`
 * (raw bytes), the signature named in `model_spec` (`serving_default` unless the location says
 * otherwise); the signature is declared in the location, as the gRPC API here has no metadata call.
 */
import type { DType, NamedTensors, Tensor, TensorSpec } from '../tensor.js';
import { grpcConnections, grpcMethod, type GrpcEndpoint } from './grpc-transport.js';
import { httpConnections, type HttpEndpoint } from './http-transport.js';
import type { RemoteLocation } from './location.js';
import type { RemoteProtocol } from './protocol.js';
import { elementCount, flatten, fromJsonValues, fromRawBytes, jsonObject, jsonValues, malformed, nest, rawBytes, type AnyTensor } from './wire-tensors.js';

const dtypeOf: Readonly<Record<string, DType>> = {
  DT_FLOAT: 'float32',
  DT_DOUBLE: 'float64',
  DT_INT32: 'int32',
  DT_INT64: 'int64',
  DT_UINT8: 'uint8',
  DT_BOOL: 'bool',
  DT_STRING: 'string',
};
const tfTypeOf: Readonly<Record<DType, string>> = {
  float32: 'DT_FLOAT',
  float64: 'DT_DOUBLE',
  int32: 'DT_INT32',
  int64: 'DT_INT64',
  uint8: 'DT_UINT8',
  bool: 'DT_BOOL',
  string: 'DT_STRING',
};

export function tfServingRest(location: RemoteLocation): RemoteProtocol<HttpEndpoint> {
  const base = `/v1/models/${encodeURIComponent(location.model)}${location.options.version ? `/versions/${location.options.version}` : ''}`;
  const { headers } = location;
  const signatureName = location.options.signature;
  return {
    ...httpConnections(location.options.connections),
    async metadata(endpoint, call) {
      const answer = jsonObject(await endpoint.callJson({ method: 'GET', path: `${base}/metadata`, headers, ...call }), 'the model metadata');
      const defs = jsonObject(jsonObject(jsonObject(answer.metadata, 'metadata').signature_def, 'metadata.signature_def').signature_def, 'signature_def');
      const def = defs[signatureName];
      if (def === undefined) throw malformed(`the model has no signature '${signatureName}' (signatures: ${Object.keys(defs).join(', ') || 'none'})`);
      const signature = jsonObject(def, `signature '${signatureName}'`);
      return Object.freeze({ inputs: tensorInfos(signature.inputs, 'inputs'), outputs: tensorInfos(signature.outputs, 'outputs') });
    },
    async infer(endpoint, inputs, signature, call) {
      const columns: Record<string, unknown> = {};
      for (const spec of signature.inputs) {
        const t = inputs[spec.name] as Tensor;
        columns[spec.name] = nest(jsonValues(t), t.shape);
      }
      const body = JSON.stringify({ signature_name: signatureName, inputs: columns });
      const answer = jsonObject(await endpoint.callJson({ method: 'POST', path: `${base}:predict`, body, headers, ...call }), 'the answer');
      if (!('outputs' in answer)) throw malformed(`the answer has no outputs (keys: ${Object.keys(answer).join(', ')})`);
      return restOutputs(answer.outputs, signature.outputs);
    },
  };
}

/** The signature's outputs from a columnar answer: one output comes bare, several as an object by name. */
function restOutputs(outputs: unknown, specs: readonly TensorSpec[]): NamedTensors {
  const named: Record<string, unknown> = {};
  const single = specs.length === 1 ? specs[0] : undefined;
  // A bare output is an array or a scalar; an object is outputs by name.
  if (single && (Array.isArray(outputs) || typeof outputs !== 'object' || outputs === null)) named[single.name] = outputs;
  else Object.assign(named, jsonObject(outputs, 'outputs'));
  const tensors: Record<string, Tensor> = {};
  for (const spec of specs) {
    if (!(spec.name in named)) throw malformed(`the answer has no output '${spec.name}' (outputs: ${Object.keys(named).join(', ')})`);
    const where = `output '${spec.name}'`;
    const { shape, values } = flatten(named[spec.name], where);
    tensors[spec.name] = { dtype: spec.dtype, shape, data: fromJsonValues(spec.dtype, values, where) };
  }
  return tensors;
}

/** TensorInfo map of a signature_def (REST metadata) as tensor specs. */
function tensorInfos(value: unknown, kind: string): readonly TensorSpec[] {
  const infos = jsonObject(value, `the signature's ${kind}`);
  return Object.freeze(
    Object.entries(infos).map(([name, info]) => {
      const where = `${kind} '${name}'`;
      const fields = jsonObject(info, where);
      const dtype = typeof fields.dtype === 'string' ? dtypeOf[fields.dtype] : undefined;
      if (dtype === undefined) throw malformed(`${where} has dtype ${JSON.stringify(fields.dtype)}; Sluice tensors carry ${Object.keys(dtypeOf).join(', ')}`);
      const shape = jsonObject(fields.tensor_shape, `${where} tensor_shape`);
      if (shape.unknown_rank === true) throw malformed(`${where} has an unknown rank; declare the signature in the location (inputs=, outputs=)`);
      const dims = Array.isArray(shape.dim) ? shape.dim.map((d: unknown) => Number(jsonObject(d, `${where} dim`).size)) : [];
      if (dims.some((d) => !Number.isSafeInteger(d) || d < -1)) throw malformed(`${where} has dimensions ${JSON.stringify(shape.dim)}`);
      return Object.freeze({ name, dtype, shape: Object.freeze(dims) });
    }),
  );
}

interface TensorProto {
  dtype: string;
  tensor_shape: { dim: { size: string | number }[] } | null;
  tensor_content?: Buffer;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  int64_val?: string[];
  bool_val?: boolean[];
  string_val?: Buffer[];
}
interface PredictRequest {
  model_spec: { name: string; signature_name: string; version?: { value: string } };
  inputs: Record<string, TensorProto>;
  output_filter: string[];
}
interface PredictResponse {
  outputs: Record<string, TensorProto>;
}

export function tfServingGrpc(location: RemoteLocation): RemoteProtocol<GrpcEndpoint> {
  const predict = grpcMethod<PredictRequest, PredictResponse>('tensorflow.serving.PredictionService', 'Predict');
  const { version, signature } = location.options;
  const modelSpec = { name: location.model, signature_name: signature, ...(version ? { version: { value: version } } : {}) };
  const { headers } = location;
  return {
    ...grpcConnections(),
    async infer(endpoint, inputs, specs, call) {
      const protos: Record<string, TensorProto> = {};
      for (const spec of specs.inputs) protos[spec.name] = tensorProto(inputs[spec.name] as Tensor);
      const answer = await endpoint.unary(predict, { model_spec: modelSpec, inputs: protos, output_filter: [] }, { ...call, headers });
      const outputs: Record<string, Tensor> = {};
      for (const [name, proto] of Object.entries(answer.outputs)) outputs[name] = fromTensorProto(proto, `output '${name}'`);
      return outputs;
    },
  };
}

function tensorProto(tensor: Tensor): TensorProto {
  const t = tensor as AnyTensor;
  const proto: TensorProto = { dtype: tfTypeOf[t.dtype], tensor_shape: { dim: t.shape.map((size) => ({ size })) } };
  // Strings have no fixed width, so no tensor_content; everything else goes as raw bytes.
  if (t.dtype === 'string') proto.string_val = t.data.map((s) => Buffer.from(s, 'utf8'));
  else proto.tensor_content = rawBytes(t);
  return proto;
}

function fromTensorProto(proto: TensorProto, where: string): Tensor {
  const dtype = dtypeOf[proto.dtype];
  if (dtype === undefined) throw malformed(`${where} has dtype ${proto.dtype}; Sluice tensors carry ${Object.keys(dtypeOf).join(', ')}`);
  const shape = (proto.tensor_shape?.dim ?? []).map((d) => Number(d.size));
  const count = elementCount(shape, where);
  const content = proto.tensor_content;
  if (content !== undefined && content.length > 0 && dtype !== 'string') return { dtype, shape, data: fromRawBytes(dtype, content, count, where) };
  const typed: Record<DType, readonly unknown[] | undefined> = {
    float32: proto.float_val,
    float64: proto.double_val,
    int32: proto.int_val,
    uint8: proto.int_val,
    int64: proto.int64_val,
    bool: proto.bool_val,
    string: proto.string_val?.map((b) => b.toString('utf8')),
  };
  const values = typed[dtype] ?? [];
  if (values.length > count || (values.length === 0 && count > 0)) throw malformed(`${where} has ${values.length} values, the shape needs ${count}`);
  // TensorProto convention: fewer values than the shape holds repeat the last one.
  const full = values.length === count ? values : [...values, ...new Array<unknown>(count - values.length).fill(values[values.length - 1])];
  return { dtype, shape, data: fromJsonValues(dtype, full, where) };
}
