/**
 * Tensor data in the forms the protocols carry it: flat JSON arrays (Open Inference REST),
 * nested JSON arrays (TensorFlow Serving REST, Seldon ndarray) and raw little-endian bytes
 * (Open Inference `raw_*_contents`, TensorFlow `tensor_content`). Conversions check what the
 * server sent and say where it is wrong.
 */
import { endianness } from 'node:os';
import { RemoteFailure } from './failure.js';
import type { DType, Tensor, TensorData, TensorDataByDType } from '../tensor.js';

if (endianness() !== 'LE') throw new Error('Sluice sends tensors as raw bytes in host order, which the protocols require to be little-endian');

/** One member per dtype, so that checking `dtype` also narrows `data`. */
export type AnyTensor = { [D in DType]: Tensor<D> }[DType];

/** A reply the protocol does not allow: the server's fault, not the endpoint's health. */
export function malformed(message: string): RemoteFailure {
  return new RemoteFailure('request', `malformed answer: ${message}`);
}

/** `value` as a JSON object, or a malformed-answer failure naming `what`. */
export function jsonObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`${what} is not an object`);
  return value as Record<string, unknown>;
}

/** The values as a flat JSON array: numbers, booleans or strings. */
export function jsonValues(tensor: Tensor): (number | boolean | string)[] {
  const t = tensor as AnyTensor;
  switch (t.dtype) {
    case 'string':
      return t.data;
    case 'bool':
      return Array.from(t.data, (v) => v !== 0);
    case 'int64':
      return Array.from(t.data, Number);
    default:
      return Array.from(t.data);
  }
}

/** Typed data of `dtype` from flat JSON values, each checked. */
export function fromJsonValues<D extends DType>(dtype: D, values: readonly unknown[], where: string): TensorDataByDType[D] {
  const bad = (i: number, expected: string) => malformed(`${where}: value ${i} is ${JSON.stringify(values[i])}, not ${expected}`);
  /** Numbers into a typed array; integer arrays take only integers in their range (`[min, max]`). */
  const numbers = (make: (n: number) => TensorData, range?: readonly [min: number, max: number]): TensorData => {
    const data = make(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number' || (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1]))) {
        throw bad(i, range ? `an integer in [${range[0]}, ${range[1]}]` : 'a number');
      }
      (data as Float64Array)[i] = v;
    }
    return data;
  };
  const convert: Record<DType, () => TensorData> = {
    float32: () => numbers((n) => new Float32Array(n)),
    float64: () => numbers((n) => new Float64Array(n)),
    int32: () => numbers((n) => new Int32Array(n), [-(2 ** 31), 2 ** 31 - 1]),
    uint8: () => numbers((n) => new Uint8Array(n), [0, 255]),
    int64: () =>
      BigInt64Array.from(values, (v, i) => {
        if ((typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))) return BigInt(v);
        throw bad(i, 'an integer');
      }),
    bool: () =>
      Uint8Array.from(values, (v, i) => {
        if (typeof v === 'boolean') return v ? 1 : 0;
        throw bad(i, 'a boolean');
      }),
    string: () =>
      values.map((v, i) => {
        if (typeof v === 'string') return v;
        throw bad(i, 'a string');
      }),
  };
  return convert[dtype]() as TensorDataByDType[D];
}

/** Nested JSON arrays of `shape`, row-major, from a flat array. */
export function nest(values: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  const strides = shape.map((_, dim) => shape.slice(dim + 1).reduce((a, b) => a * b, 1));
  const build = (dim: number, offset: number): unknown[] => {
    const size = shape[dim] as number;
    if (dim === shape.length - 1) return values.slice(offset, offset + size);
    const stride = strides[dim] as number;
    return Array.from({ length: size }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return build(0, 0);
}

/** The shape and flat values of nested JSON arrays; every row of a level must have the same length. */
export function flatten(value: unknown, where: string): { shape: number[]; values: unknown[] } {
  const shape: number[] = [];
  for (let level = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: unknown[] = [];
  const walk = (node: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (Array.isArray(node)) throw malformed(`${where}${path} is nested deeper than the rest of the array`);
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[dim]) {
      throw malformed(
        `${where}${path} has ${Array.isArray(node) ? node.length : 'no'} elements where the array's shape [${shape.join(',')}] needs ${shape[dim]}`,
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], dim + 1, `${path}[${i}]`);
  };
  walk(value, 0, '');
  return { shape, values };
}

const byteWidth: Readonly<Record<Exclude<DType, 'string'>, number>> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };

/** The values as raw little-endian bytes (strings: each a 4-byte length and its UTF-8 bytes); numbers are not copied. */
export function rawBytes(tensor: Tensor): Buffer {
  const t = tensor as AnyTensor;
  if (t.dtype !== 'string') return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const encoded = t.data.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.allocUnsafe(encoded.reduce((n, b) => n + 4 + b.length, 0));
  let offset = 0;
  for (const bytes of encoded) {
    offset = out.writeUInt32LE(bytes.length, offset);
    offset += bytes.copy(out, offset);
  }
  return out;
}

/** Typed data of `dtype` from raw little-endian bytes holding `count` elements; copied, so the array is aligned. */
export function fromRawBytes<D extends DType>(dtype: D, bytes: Uint8Array, count: number, where: string): TensorDataByDType[D] {
  if (dtype === 'string') {
    const strings: string[] = [];
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    while (offset < buffer.length) {
      if (offset + 4 > buffer.length) throw malformed(`${where}: raw BYTES element ${strings.length} has a truncated length prefix`);
      const length = buffer.readUInt32LE(offset);
      if (offset + 4 + length > buffer.length) throw malformed(`${where}: raw BYTES element ${strings.length} runs past the end`);
      strings.push(buffer.toString('utf8', offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    if (strings.length !== count) throw malformed(`${where}: raw contents hold ${strings.length} strings, the shape needs ${count}`);
    return strings as TensorDataByDType[D];
  }
  const width = byteWidth[dtype as Exclude<DType, 'string'>];
  if (bytes.byteLength !== count * width)
    throw malformed(`${where}: raw contents are ${bytes.byteLength} bytes, the shape needs ${count * width} (${count} × ${width})`);
  const copy = new Uint8Array(bytes);
  const arrays: Record<Exclude<DType, 'string'>, () => TensorData> = {
    float32: () => new Float32Array(copy.buffer),
    float64: () => new Float64Array(copy.buffer),
    int32: () => new Int32Array(copy.buffer),
    int64: () => new BigInt64Array(copy.buffer),
    uint8: () => copy,
    bool: () => copy,
  };
  return arrays[dtype as Exclude<DType, 'string'>]() as TensorDataByDType[D];
}

/** The element count a shape holds; negative or fractional dimensions are the server's error. */
export function elementCount(shape: readonly number[], where: string): number {
  let count = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw malformed(`${where}: shape [${shape.join(',')}] has an invalid dimension ${d}`);
    count *= d;
  }
  return count;
}
