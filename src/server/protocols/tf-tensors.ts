/**
 * TensorFlow's tensor forms, shared by the TF Serving REST and gRPC adapters: DataType names
 * (`DT_FLOAT`...) and `tensorflow.TensorProto` as @grpc/proto-loader decodes it. A TensorProto
 * carries its values in `tensor_content` (raw little-endian bytes) or in the typed `*_val`
 * field of its dtype; a single typed value fills the whole shape, as TensorFlow allows.
 */
import type { DType, Tensor, TensorSpec } from '../../serving/tensor.js';
import type { ServedModel } from '../data-plane.js';
import { badRequest } from './json-body.js';
import { elementCount } from './open-inference-tensors.js';
import { dataFromBytes } from './tensor-bytes.js';

export const tfDataTypeOf: Readonly<Record<DType, string>> = {
  float32: 'DT_FLOAT',
  float64: 'DT_DOUBLE',
  int32: 'DT_INT32',
  int64: 'DT_INT64',
  uint8: 'DT_UINT8',
  bool: 'DT_BOOL',
  string: 'DT_STRING',
};

export interface TensorProto {
  readonly dtype: string;
  readonly tensor_shape: { readonly dim: readonly { readonly size: string }[]; readonly unknown_rank: boolean } | null;
  readonly tensor_content: Buffer;
  readonly float_val: readonly number[];
  readonly double_val: readonly number[];
  readonly int_val: readonly number[];
  readonly int64_val: readonly string[];
  readonly bool_val: readonly boolean[];
  readonly string_val: readonly Buffer[];
}

/** The typed field each dtype travels in. */
const valField: Readonly<Record<DType, keyof TensorProto>> = {
  float32: 'float_val',
  float64: 'double_val',
  int32: 'int_val',
  uint8: 'int_val',
  int64: 'int64_val',
  bool: 'bool_val',
  string: 'string_val',
};

/** A model input from a TensorProto, checked against what the model expects of it. */
export function tensorFromProto(model: ServedModel, name: string, proto: TensorProto): Tensor {
  const spec = model.expectInput(name);
  if (proto.dtype !== tfDataTypeOf[spec.dtype]) throw model.invalid(`input '${name}' is ${proto.dtype} but the model expects ${tfDataTypeOf[spec.dtype]}`);
  if (!proto.tensor_shape || proto.tensor_shape.unknown_rank) throw badRequest(`input '${name}' has no tensor_shape`);
  const shape = proto.tensor_shape.dim.map((d) => Number(d.size));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw badRequest(`input '${name}' has shape [${shape.join(',')}]: dimensions must be whole numbers >= 0`);
  const count = elementCount(shape);
  if (proto.tensor_content.length > 0) {
    if (spec.dtype === 'string') throw badRequest(`input '${name}': DT_STRING values go in string_val, not tensor_content`);
    return { dtype: spec.dtype, shape, data: dataFromBytes(proto.tensor_content, spec.dtype, count, `input '${name}'`) } as Tensor;
  }
  const field = valField[spec.dtype];
  const values = proto[field] as readonly unknown[];
  if (values.length !== count && !(values.length === 1 && count > 0)) {
    throw badRequest(`input '${name}' has ${values.length} values in ${field} but its shape [${shape.join(',')}] holds ${count}`);
  }
  const at = values.length === 1 ? () => values[0] : (i: number) => values[i];
  return { dtype: spec.dtype, shape, data: typedData(spec, count, at) } as Tensor;
}

function typedData(spec: TensorSpec, count: number, at: (i: number) => unknown): Tensor['data'] {
  const fill = <A extends { [i: number]: unknown }>(array: A, convert: (v: unknown) => A[number]): A => {
    for (let i = 0; i < count; i++) array[i] = convert(at(i));
    return array;
  };
  switch (spec.dtype) {
    case 'float32':
      return fill(new Float32Array(count), Number);
    case 'float64':
      return fill(new Float64Array(count), Number);
    case 'int32':
      return fill(new Int32Array(count), Number);
    case 'uint8':
      return fill(new Uint8Array(count), Number);
    case 'int64':
      return fill(new BigInt64Array(count), (v) => BigInt(v as string));
    case 'bool':
      return fill(new Uint8Array(count), (v) => (v ? 1 : 0));
    case 'string':
      return Array.from({ length: count }, (_, i) => (at(i) as Buffer).toString('utf8'));
  }
}

/** A TensorProto with the tensor's values in its typed field (what TF Serving answers by default). */
export function protoFromTensor(t: Tensor): Partial<Record<keyof TensorProto, unknown>> {
  const tensor_shape = { dim: t.shape.map((size) => ({ size, name: '' })), unknown_rank: false };
  const field = valField[t.dtype];
  let values: unknown[];
  if (t.dtype === 'string') values = (t.data as string[]).map((s) => Buffer.from(s, 'utf8'));
  else if (t.dtype === 'int64') values = Array.from(t.data as BigInt64Array, String);
  else if (t.dtype === 'bool') values = Array.from(t.data as Uint8Array, (v) => v !== 0);
  else values = Array.from(t.data as Float32Array);
  return { dtype: tfDataTypeOf[t.dtype], tensor_shape, [field]: values };
}

/** A tensor signature entry as TF Serving's metadata gives it (REST JSON form). */
export function signatureEntry(spec: TensorSpec): object {
  return {
    dtype: tfDataTypeOf[spec.dtype],
    tensor_shape: { dim: spec.shape.map((size) => ({ size: String(size), name: '' })), unknown_rank: false },
    name: spec.name,
  };
}
