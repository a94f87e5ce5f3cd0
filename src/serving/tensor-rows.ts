/**
 * Tensors as stacks of rows (dimension 0): what dynamic batching needs to join several
 * requests into one model call and hand each its part of the result.
 */
import type { DType, Tensor, TensorData, TensorDataByDType } from './tensor.js';

type TypedData = Exclude<TensorData, string[]>;

const typedArrays: { [D in DType]: D extends 'string' ? undefined : new (length: number) => TensorDataByDType[D] } = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  string: undefined,
};

/** Rows of a tensor: its first dimension (1 for a scalar). */
export function rowsOf(tensor: Tensor): number {
  return tensor.shape[0] ?? 1;
}

/** Values per row. */
function rowSize(tensor: Tensor): number {
  return tensor.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** The tensors stacked along dimension 0; they share dtype and every other dimension (the caller checked). */
export function concatRows(parts: readonly Tensor[]): Tensor {
  const [first] = parts;
  if (first === undefined) throw new RangeError('concatRows needs at least one tensor');
  if (parts.length === 1) return first;
  const rows = parts.reduce((sum, part) => sum + rowsOf(part), 0);
  const shape = [rows, ...first.shape.slice(1)];
  if (first.dtype === 'string') {
    return { dtype: 'string', shape, data: parts.flatMap((part) => part.data as string[]) };
  }
  const Typed = typedArrays[first.dtype] as new (length: number) => TypedData;
  const data = new Typed(rows * rowSize(first));
  let offset = 0;
  for (const part of parts) {
    (data as Float32Array).set(part.data as Float32Array, offset);
    offset += part.data.length;
  }
  return { dtype: first.dtype, shape, data } as Tensor;
}

/** Rows `[start, start + count)` of a tensor, sharing its memory where the data is a typed array. */
export function sliceRows(tensor: Tensor, start: number, count: number): Tensor {
  if (start === 0 && count === rowsOf(tensor)) return tensor;
  const size = rowSize(tensor);
  const from = start * size;
  const to = from + count * size;
  const data = tensor.dtype === 'string' ? (tensor.data as string[]).slice(from, to) : (tensor.data as TypedData).subarray(from, to);
  return { dtype: tensor.dtype, shape: [count, ...tensor.shape.slice(1)], data } as Tensor;
}
