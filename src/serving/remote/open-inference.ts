/**
 * Open Inference Protocol (KServe V2; Triton, Seldon Core 2, KServe and `sluice serve` speak
 * it). REST: `GET /v2/models/{m}[/versions/{v}]` for the signature, `POST .../infer` with JSON
 * tensors. gRPC: `inference.GRPCInferenceService` ModelMetadata and ModelInfer, inputs sent as
 * `raw_input_contents` (no per-value encoding), outputs read raw or typed.
 */
import type { ModelMetadata } from '../executor.js';
import type { DType, Tensor, TensorSpec } from '../tensor.js';
import { grpcConnections, grpcMethod, type GrpcEndpoint } from './grpc-transport.js';
import { httpConnections, type HttpEndpoint } from './http-transport.js';
import type { RemoteLocation } from './location.js';
import type { CallSettings, RemoteProtocol } from './protocol.js';
import { elementCount, flatten, fromJsonValues, fromRawBytes, jsonObject, jsonValues, malformed, rawBytes } from './wire-tensors.js';

const dtypeOf: Readonly<Record<string, DType>> = {
  FP32: 'float32',
  FP64: 'float64',
  INT32: 'int32',
  INT64: 'int64',
  UINT8: 'uint8',
  BOOL: 'bool',
  BYTES: 'string',
};
const datatypeOf: Readonly<Record<DType, string>> = {
  float32: 'FP32',
  float64: 'FP64',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  bool: 'BOOL',
  string: 'BYTES',
};

export function openInferenceRest(location: RemoteLocation): RemoteProtocol<HttpEndpoint> {
  const base = `/v2/models/${encodeURIComponent(location.model)}${location.options.version ? `/versions/${location.options.version}` : ''}`;
  const { headers } = location;
  return {
    ...httpConnections(location.options.connections),
    async metadata(endpoint, call) {
      return signatureOf(await endpoint.callJson({ method: 'GET', path: base, headers, ...call }));
    },
    async infer(endpoint, inputs, signature, call) {
      const body = JSON.stringify({
        inputs: signature.inputs.map((spec) => {
          const t = inputs[spec.name] as Tensor;
          return { name: spec.name, shape: t.shape, datatype: datatypeOf[t.dtype], data: jsonValues(t) };
        }),
      });
      const answer = await endpoint.callJson({ method: 'POST', path: `${base}/infer`, body, headers, ...call });
      const outputs = jsonObject(answer, 'the answer').outputs;
      if (!Array.isArray(outputs)) throw malformed('the answer has no outputs array');
      const tensors: Record<string, Tensor> = {};
      outputs.forEach((output: unknown, i) => {
        const { name, dtype, shape, where } = header(output, `output ${i}`);
        const { data } = jsonObject(output, where);
        if (!Array.isArray(data)) throw malformed(`${where} has no data array`);
        const values = flatten(data, `${where} data`).values;
        if (values.length !== elementCount(shape, where)) throw malformed(`${where} has ${values.length} values for shape [${shape.join(',')}]`);
        tensors[name] = { dtype, shape, data: fromJsonValues(dtype, values, where) };
      });
      return tensors;
    },
  };
}

interface TensorMetadata {
  name: string;
  datatype: string;
  shape: (string | number)[];
}
interface MetadataRequest {
  name: string;
  version: string;
}
interface MetadataResponse {
  name: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}
interface InferRequest {
  model_name: string;
  model_version: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  raw_input_contents: Buffer[];
}
interface TypedContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}
interface InferResponse {
  outputs: (TensorMetadata & { contents: TypedContents | null })[];
  raw_output_contents: Buffer[];
}

const service = 'inference.GRPCInferenceService';

export function openInferenceGrpc(location: RemoteLocation): RemoteProtocol<GrpcEndpoint> {
  const modelMetadata = grpcMethod<MetadataRequest, MetadataResponse>(service, 'ModelMetadata');
  const modelInfer = grpcMethod<InferRequest, InferResponse>(service, 'ModelInfer');
  const { model, headers } = location;
  const version = location.options.version;
  const grpcCall = (call: CallSettings) => ({ ...call, headers });
  return {
    ...grpcConnections(),
    async metadata(endpoint, call) {
      return signatureOf(await endpoint.unary(modelMetadata, { name: model, version }, grpcCall(call)));
    },
    async infer(endpoint, inputs, signature, call) {
      const tensors = signature.inputs.map((spec) => [spec.name, inputs[spec.name] as Tensor] as const);
      const answer = await endpoint.unary(
        modelInfer,
        {
          model_name: model,
          model_version: version,
          inputs: tensors.map(([name, t]) => ({ name, datatype: datatypeOf[t.dtype], shape: [...t.shape] })),
          raw_input_contents: tensors.map(([, t]) => rawBytes(t)),
        },
        grpcCall(call),
      );
      const raw = answer.raw_output_contents;
      if (raw.length > 0 && raw.length !== answer.outputs.length) throw malformed(`${answer.outputs.length} outputs but ${raw.length} raw_output_contents`);
      const outputs: Record<string, Tensor> = {};
      answer.outputs.forEach((output, i) => {
        const { name, dtype, shape, where } = header(output, `output ${i}`);
        const count = elementCount(shape, where);
        const bytes = raw[i];
        outputs[name] = {
          dtype,
          shape,
          data: bytes !== undefined ? fromRawBytes(dtype, bytes, count, where) : typedContents(dtype, output.contents, count, where),
        };
      });
      return outputs;
    },
  };
}

/** A model's signature from a V2 model metadata answer, REST or gRPC. */
export function signatureOf(answer: unknown): ModelMetadata {
  const body = jsonObject(answer, 'the model metadata');
  const specs = (kind: 'inputs' | 'outputs'): readonly TensorSpec[] => {
    const list = body[kind];
    if (!Array.isArray(list)) throw malformed(`the model metadata has no ${kind} array`);
    return Object.freeze(
      list.map((entry: unknown, i) => {
        const { name, dtype, shape } = header(entry, `metadata ${kind}[${i}]`, true);
        return Object.freeze({ name, dtype, shape: Object.freeze(shape.map((d) => (d < 0 ? -1 : d))) });
      }),
    );
  };
  return Object.freeze({ inputs: specs('inputs'), outputs: specs('outputs') });
}

/** Name, dtype and shape of a V2 tensor description; `free` allows -1 dimensions (metadata). */
function header(value: unknown, at: string, free = false): { name: string; dtype: DType; shape: number[]; where: string } {
  const fields = jsonObject(value, at);
  const name = fields.name;
  if (typeof name !== 'string' || name === '') throw malformed(`${at} has no name`);
  const where = `${at} '${name}'`;
  const datatype = fields.datatype;
  const dtype = typeof datatype === 'string' ? dtypeOf[datatype] : undefined;
  if (dtype === undefined) {
    throw malformed(`${where} has datatype ${JSON.stringify(datatype)}; Sluice tensors carry ${Object.keys(dtypeOf).join(', ')}`);
  }
  const shape = Array.isArray(fields.shape) ? fields.shape.map(Number) : undefined;
  if (shape === undefined || shape.some((d) => !Number.isSafeInteger(d) || d < (free ? -1 : 0))) {
    throw malformed(`${where} has shape ${JSON.stringify(fields.shape)}`);
  }
  return { name, dtype, shape, where };
}

function typedContents(dtype: DType, contents: TypedContents | null, count: number, where: string): Tensor['data'] {
  if (contents === null) throw malformed(`${where} has neither raw nor typed contents`);
  const field: Record<DType, readonly unknown[]> = {
    float32: contents.fp32_contents,
    float64: contents.fp64_contents,
    int32: contents.int_contents,
    int64: contents.int64_contents,
    uint8: contents.uint_contents,
    bool: contents.bool_contents,
    string: contents.bytes_contents.map((b) => b.toString('utf8')),
  };
  const values = field[dtype];
  if (values.length !== count) throw malformed(`${where} has ${values.length} typed values, the shape needs ${count}`);
  return fromJsonValues(dtype, values, where);
}
