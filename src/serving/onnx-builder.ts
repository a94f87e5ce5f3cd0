/**
 * A small vocabulary for writing ONNX models from TypeScript (no Python, nothing downloaded):
 * value infos, initializers, nodes, and one `encodeModel` that wraps them in a ModelProto.
 * Used by the example models; it knows nothing about any one model.
 */
import onnxProto from 'onnx-proto';
import type { DType } from './tensor.js';

const { onnx } = onnxProto;

export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** ONNX's element-type numbers for the dtypes a Sluice tensor carries. */
export const onnxElementType: Readonly<Record<DType, number>> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
  string: onnx.TensorProto.DataType.STRING,
};

/** A graph input or output. A string dimension is symbolic (free), e.g. `'batch'`. */
export function valueInfo(name: string, dtype: DType, dims: readonly (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxElementType[dtype],
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** A float32 weight tensor, stored as little-endian bytes in `rawData` (ONNX requires LE). */
export function float32Initializer(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  checkSize(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes };
}

/** An int64 constant (axes, shapes, indices), little-endian in `rawData`. */
export function int64Initializer(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  checkSize(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.INT64, rawData: bytes };
}

export function intAttr(name: string, value: number): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

export function intsAttr(name: string, values: readonly number[]): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...values] };
}

export function floatAttr(name: string, value: number): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
}

/** One operator application. Node names are optional in ONNX; we derive one from the output for readable errors. */
export function node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: readonly AttributeProto[] = []): NodeProto {
  return { opType, name: `${opType}_${outputs[0] ?? ''}`, input: [...inputs], output: [...outputs], attribute: [...attributes] };
}

export interface GraphDefinition {
  readonly name: string;
  readonly inputs: readonly ValueInfoProto[];
  readonly outputs: readonly ValueInfoProto[];
  readonly initializers: readonly TensorProto[];
  /** In topological order, as ONNX requires. */
  readonly nodes: readonly NodeProto[];
  readonly docString?: string;
}

export interface ModelOptions {
  /** Default opset 13 (ReduceSum takes `axes` as an input from 13 on). */
  readonly opset?: number;
  /** Default IR version 8, the newest onnx-proto 8 writes and onnxruntime 1.30 reads. */
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly docString?: string;
  /** Free-form key/value pairs stored in the model (`metadata_props`). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Serializes a graph as an ONNX ModelProto. */
export function encodeModel(graph: GraphDefinition, options: ModelOptions = {}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: options.irVersion ?? 8,
    opsetImport: [{ domain: '', version: options.opset ?? 13 }],
    producerName: options.producerName ?? 'sluice',
    docString: options.docString ?? '',
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      docString: graph.docString ?? '',
      input: [...graph.inputs],
      output: [...graph.outputs],
      initializer: [...graph.initializers],
      node: [...graph.nodes],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function checkSize(name: string, dims: readonly number[], length: number): void {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== length) {
    throw new RangeError(`initializer ${name}: dims [${dims.join(',')}] hold ${size} values but ${length} were given`);
  }
}
