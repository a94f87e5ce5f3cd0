/**
 * Tensors as raw bytes, the fast path of the gRPC protocols (Open Inference
 * `raw_input_contents`/`raw_output_contents`, TF Serving `tensor_content`): the flattened
 * row-major elements, little-endian (the byte order of every platform Node runs on, so typed
 * arrays read and write them as they are). Strings travel as Open Inference BYTES: each element
 * a 4-byte little-endian length, then its UTF-8 bytes.
 */
import type { DType, TensorData } from '../../serving/tensor.js';
import { badRequest } from './json-body.js';

const elementBytes: Readonly<Record<Exclude<DType, 'string'>, number>> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };

/** `count` elements of `dtype` from raw bytes; `where` names the tensor in the error when the size is wrong. */
export function dataFromBytes(bytes: Uint8Array, dtype: DType, count: number, where: string): TensorData {
  if (dtype === 'string') return stringsFromBytes(bytes, count, where);
  const size = elementBytes[dtype];
  if (bytes.byteLength !== count * size) {
    throw badRequest(`${where} has ${bytes.byteLength} bytes of raw content, but its shape and datatype need ${count * size} (${count} × ${size})`);
  }
  // Typed arrays need aligned memory; a slice of a protobuf message often is not, so copy then
  // (`new Uint8Array(bytes)` copies; a Buffer's own `slice()` would not).
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  const { buffer, byteOffset } = aligned;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, count);
    case 'float64':
      return new Float64Array(buffer, byteOffset, count);
    case 'int32':
      return new Int32Array(buffer, byteOffset, count);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, count);
  }
}

/** The raw bytes of tensor data, sharing its memory when it is a typed array. */
export function bytesFromData(data: TensorData): Buffer {
  if (Array.isArray(data)) {
    const encoded = data.map((s) => Buffer.from(s, 'utf8'));
    const out = Buffer.allocUnsafe(encoded.reduce((sum, b) => sum + 4 + b.length, 0));
    let offset = 0;
    for (const b of encoded) {
      offset = out.writeUInt32LE(b.length, offset);
      offset += b.copy(out, offset);
    }
    return out;
  }
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function stringsFromBytes(bytes: Uint8Array, count: number, where: string): string[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const strings: string[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) throw badRequest(`${where}: raw BYTES content is cut inside a length prefix at byte ${offset}`);
    const length = buffer.readUInt32LE(offset);
    offset += 4;
    if (offset + length > buffer.length)
      throw badRequest(`${where}: raw BYTES element ${strings.length} says ${length} bytes, but only ${buffer.length - offset} remain`);
    strings.push(buffer.toString('utf8', offset, offset + length));
    offset += length;
  }
  if (strings.length !== count) throw badRequest(`${where} has ${strings.length} raw BYTES elements, but its shape needs ${count}`);
  return strings;
}
