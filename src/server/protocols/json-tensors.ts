/**
 * Tensors in JSON, as the REST protocols carry them: flat value lists (Open Inference `data`)
 * and nested arrays (TF Serving `instances`/`inputs`, Seldon `ndarray`). Every value is checked
 * against the dtype the model expects, and a wrong one is named by its position.
 */
import { tensor, type DType, type Tensor, type TensorData } from '../../serving/tensor.js';
import { badRequest, shown } from './json-body.js';

const expected: Readonly<Record<DType, string>> = {
  float32: 'a number',
  float64: 'a number',
  int32: 'a whole number in the int32 range',
  int64: 'a whole number',
  uint8: 'a whole number in [0, 255]',
  bool: 'true or false',
  string: 'a string',
};

const accepts: Readonly<Record<DType, (v: unknown) => boolean>> = {
  float32: (v) => typeof v === 'number',
  float64: (v) => typeof v === 'number',
  int32: (v) => Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647,
  int64: (v) => Number.isInteger(v),
  uint8: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255,
  bool: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
};

/** Typed data of `dtype` from JSON values, each checked; `where` names the list in messages. */
export function dataFromJson(values: readonly unknown[], dtype: DType, where: string): TensorData {
  const ok = accepts[dtype];
  for (let i = 0; i < values.length; i++) {
    if (!ok(values[i])) throw badRequest(`${where}[${i}] is ${shown(values[i])}, expected ${expected[dtype]}`);
  }
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values as number[]);
    case 'float64':
      return Float64Array.from(values as number[]);
    case 'int32':
      return Int32Array.from(values as number[]);
    case 'int64':
      return BigInt64Array.from(values as number[], (v) => BigInt(v));
    case 'uint8':
      return Uint8Array.from(values as number[]);
    case 'bool':
      return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0));
    case 'string':
      return [...(values as string[])];
  }
}

/** A tensor's values as a flat JSON list: int64 as numbers, bool as true/false. */
export function jsonFromData(t: Tensor): unknown[] {
  if (t.dtype === 'string') return t.data as string[];
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, Number);
  if (t.dtype === 'bool') return Array.from(t.data as Uint8Array, (v) => v !== 0);
  return Array.from(t.data as Float32Array);
}

/** Nested JSON arrays as a shape and flat values; a ragged array is refused, naming where. */
export function flattenNested(value: unknown, where: string): { shape: number[]; values: unknown[] } {
  const shape: number[] = [];
  for (let level = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: unknown[] = [];
  const visit = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw badRequest(`${where}${path} is an array where a value was expected (ragged array)`);
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw badRequest(`${where}${path} has ${Array.isArray(node) ? node.length : 'no'} elements where ${shape[depth]} were expected (ragged array)`);
    }
    for (let i = 0; i < node.length; i++) visit(node[i], depth + 1, `${path}[${i}]`);
  };
  visit(value, 0, '');
  return { shape, values };
}

/** A tensor of `dtype` from nested JSON arrays. */
export function tensorFromNested(value: unknown, dtype: DType, where: string): Tensor {
  const { shape, values } = flattenNested(value, where);
  return tensor(dtype, shape, dataFromJson(values, dtype, where));
}

/** The tensor as nested JSON arrays (a bare value for rank 0). */
export function nestedFromTensor(t: Tensor): unknown {
  return nest(jsonFromData(t), t.shape, 0);
}

/** Each row of the tensor (dimension 0) as nested JSON. */
export function rowsFromTensor(t: Tensor): unknown[] {
  const values = jsonFromData(t);
  const rowShape = t.shape.slice(1);
  const size = rowShape.reduce((a, b) => a * b, 1);
  return Array.from({ length: t.shape[0] ?? 0 }, (_, row) => nest(values, rowShape, row * size));
}

function nest(values: readonly unknown[], shape: readonly number[], offset: number): unknown {
  if (shape.length === 0) return values[offset];
  const [outer = 0, ...inner] = shape;
  const step = inner.reduce((a, b) => a * b, 1);
  return Array.from({ length: outer }, (_, i) => nest(values, inner, offset + i * step));
}
