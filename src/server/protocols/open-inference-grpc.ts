/**
 * Open Inference Protocol (KServe V2) over gRPC: `inference.GRPCInferenceService` from
 * protos/inference/grpc_predict_v2.proto (ServerLive, ServerReady, ModelReady, ServerMetadata,
 * ModelMetadata, ModelInfer).
 *
 * ModelInfer takes each input's data either in `contents` (the typed field of its datatype) or,
 * the fast path, in `raw_input_contents` (one entry per input, little-endian). The answer uses
 * the form the request used: `raw_output_contents` for raw requests, `contents` otherwise. A
 * graph that routes answers with the request's `id`, or a new one: REST feedback names it.
 */
import type { DType, Tensor } from '../../serving/tensor.js';
import type { DataPlane } from '../data-plane.js';
import type { GrpcProtocol } from '../protocol.js';
import { badRequest } from './json-body.js';
import { datatypeOf, elementCount, expectDatatype, tensorMetadata } from './open-inference-tensors.js';
import { bytesFromData, dataFromBytes } from './tensor-bytes.js';

/** InferTensorContents as @grpc/proto-loader decodes it (int64 and uint64 as strings). */
interface TensorContents {
  readonly bool_contents: readonly boolean[];
  readonly int_contents: readonly number[];
  readonly int64_contents: readonly string[];
  readonly uint_contents: readonly number[];
  readonly uint64_contents: readonly string[];
  readonly fp32_contents: readonly number[];
  readonly fp64_contents: readonly number[];
  readonly bytes_contents: readonly Buffer[];
}

interface ModelInferRequest {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly inputs: readonly { readonly name: string; readonly datatype: string; readonly shape: readonly string[]; readonly contents: TensorContents | null }[];
  readonly outputs: readonly { readonly name: string }[];
  readonly raw_input_contents: readonly Buffer[];
}

interface ModelRequest {
  readonly name: string;
  readonly version: string;
}

/** The `contents` field each dtype travels in. */
const contentsField: Readonly<Record<DType, keyof TensorContents>> = {
  bool: 'bool_contents',
  uint8: 'uint_contents',
  int32: 'int_contents',
  int64: 'int64_contents',
  float32: 'fp32_contents',
  float64: 'fp64_contents',
  string: 'bytes_contents',
};

export const openInferenceGrpc: GrpcProtocol = {
  name: 'open-inference-grpc',
  transport: 'grpc',
  protoFiles: ['inference/grpc_predict_v2.proto'],
  service: 'inference.GRPCInferenceService',
  methods: (plane: DataPlane) => ({
    ServerLive: async () => ({ live: plane.live() }),
    ServerReady: async () => ({ ready: plane.ready() }),
    ServerMetadata: async () => ({ name: plane.info.name, version: plane.info.version, extensions: [...plane.info.extensions] }),
    ModelReady: async (request, call) => {
      const { name, version } = request as ModelRequest;
      const ready = plane.modelReady(name, version);
      call.model = name;
      return { ready };
    },
    ModelMetadata: async (request, call) => {
      const { name, version } = request as ModelRequest;
      const model = plane.model(name, version);
      call.model = model.name;
      return {
        name: model.name,
        versions: plane.servedVersions(model.name),
        platform: model.platform,
        inputs: model.signature.inputs.map(tensorMetadata),
        outputs: model.signature.outputs.map(tensorMetadata),
      };
    },
    ModelInfer: async (message, call) => {
      const request = message as ModelInferRequest;
      const model = plane.model(request.model_name, request.model_version);
      call.model = model.name;
      const raw = request.raw_input_contents.length > 0;
      if (raw && request.raw_input_contents.length !== request.inputs.length) {
        throw badRequest(
          `raw_input_contents has ${request.raw_input_contents.length} entries but there are ${request.inputs.length} inputs: give one per input, in order`,
        );
      }
      const inputs: Record<string, Tensor> = {};
      request.inputs.forEach((input, i) => {
        if (Object.hasOwn(inputs, input.name)) throw badRequest(`input '${input.name}' is given twice`);
        const spec = expectDatatype(model, input.name, input.datatype);
        const shape = input.shape.map(Number);
        if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
          throw badRequest(`input '${input.name}' has shape [${shape.join(',')}]: dimensions must be whole numbers >= 0`);
        const count = elementCount(shape);
        const data = raw
          ? dataFromBytes(request.raw_input_contents[i] as Buffer, spec.dtype, count, `input '${input.name}'`)
          : dataFromContents(input.contents, spec.dtype, count, input.name);
        inputs[input.name] = { dtype: spec.dtype, shape, data } as Tensor;
      });
      const id = model.requestId(request.id);
      const outputs = Object.entries(
        await model.infer(
          inputs,
          request.outputs.map((o) => o.name),
          id,
        ),
      );
      return {
        model_name: model.name,
        model_version: model.version,
        id: id ?? '',
        outputs: outputs.map(([name, t]) => ({
          name,
          datatype: datatypeOf[t.dtype],
          shape: [...t.shape],
          ...(raw ? {} : { contents: contentsFromTensor(t) }),
        })),
        raw_output_contents: raw ? outputs.map(([, t]) => bytesFromData(t.data)) : [],
      };
    },
  }),
};

function dataFromContents(contents: TensorContents | null, dtype: DType, count: number, name: string): Tensor['data'] {
  const field = contentsField[dtype];
  const values = contents?.[field] ?? [];
  if (values.length !== count) {
    throw badRequest(`input '${name}' has ${values.length} values in contents.${field} but its shape holds ${count} (or send raw_input_contents)`);
  }
  switch (dtype) {
    case 'bool':
      return Uint8Array.from(values as readonly boolean[], (v) => (v ? 1 : 0));
    case 'uint8':
      return Uint8Array.from(values as readonly number[]);
    case 'int32':
      return Int32Array.from(values as readonly number[]);
    case 'int64':
      return BigInt64Array.from(values as readonly string[], (v) => BigInt(v));
    case 'float32':
      return Float32Array.from(values as readonly number[]);
    case 'float64':
      return Float64Array.from(values as readonly number[]);
    case 'string':
      return (values as readonly Buffer[]).map((b) => b.toString('utf8'));
  }
}

function contentsFromTensor(t: Tensor): Partial<Record<keyof TensorContents, unknown[]>> {
  const field = contentsField[t.dtype];
  if (t.dtype === 'string') return { [field]: (t.data as string[]).map((s) => Buffer.from(s, 'utf8')) };
  if (t.dtype === 'int64') return { [field]: Array.from(t.data as BigInt64Array, String) };
  if (t.dtype === 'bool') return { [field]: Array.from(t.data as Uint8Array, (v) => v !== 0) };
  return { [field]: Array.from(t.data as Float32Array) };
}
