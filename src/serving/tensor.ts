/**
 * The one tensor type inside Sluice. Executors and protocol adapters convert to and from it
 * at their edges; nothing else knows about wire or runtime tensor formats.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool' | 'string';

export interface TensorDataByDType {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
  string: string[];
}

export type TensorData = TensorDataByDType[DType];

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  /** Row-major dimensions; the product equals `data.length`. */
  readonly shape: readonly number[];
  readonly data: TensorDataByDType[D];
}

export type NamedTensors = Readonly<Record<string, Tensor>>;

/** What a model expects or returns on one tensor. `-1` in `shape` is a free dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export function tensor<D extends DType>(dtype: D, shape: readonly number[], data: TensorDataByDType[D]): Tensor<D> {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new RangeError(`tensor shape [${shape.join(',')}] holds ${size} values but data has ${data.length}`);
  }
  return { dtype, shape: [...shape], data };
}

/** True when `actual` fits `expected`: same rank, every fixed dimension equal. */
export function shapeMatches(expected: readonly number[], actual: readonly number[]): boolean {
  return expected.length === actual.length && expected.every((d, i) => d < 0 || d === actual[i]);
}

/** `[?,1]`: a shape as messages show it, free dimensions as `?`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((d) => (d < 0 ? '?' : String(d))).join(',')}]`;
}

/** A tensor of zeros (empty strings for `string`). */
export function zeros<D extends DType>(dtype: D, shape: readonly number[]): Tensor<D> {
  const size = shape.reduce((a, b) => a * b, 1);
  const data: Record<DType, () => TensorData> = {
    float32: () => new Float32Array(size),
    float64: () => new Float64Array(size),
    int32: () => new Int32Array(size),
    int64: () => new BigInt64Array(size),
    uint8: () => new Uint8Array(size),
    bool: () => new Uint8Array(size),
    string: () => new Array<string>(size).fill(''),
  };
  return { dtype, shape: [...shape], data: data[dtype]() as TensorDataByDType[D] };
}
