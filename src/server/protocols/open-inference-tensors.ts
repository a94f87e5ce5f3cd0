/**
 * Open Inference Protocol datatypes and tensor metadata, shared by its REST and gRPC forms.
 * Sluice tensors carry BOOL, UINT8, INT32, INT64, FP32, FP64 and BYTES; the protocol's other
 * datatypes (INT8, INT16, UINT16, UINT32, UINT64, FP16, BF16) are refused by name.
 */
import { SluiceError } from '../../core/errors.js';
import type { DType, TensorSpec } from '../../serving/tensor.js';
import type { ServedModel } from '../data-plane.js';
import { badRequest } from './json-body.js';

export const datatypeOf: Readonly<Record<DType, string>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  int32: 'INT32',
  int64: 'INT64',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const dtypeOf: ReadonlyMap<string, DType> = new Map(Object.entries(datatypeOf).map(([dtype, datatype]) => [datatype, dtype as DType]));
const protocolDatatypes = new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BF16', 'BYTES']);

/**
 * The model's spec for input `name` after checking that the request's `datatype` is one Sluice
 * carries and the one the model expects; every mismatch is a 400 naming the tensor.
 */
export function expectDatatype(model: ServedModel, name: string, datatype: string): TensorSpec {
  if (!dtypeOf.has(datatype)) {
    if (protocolDatatypes.has(datatype)) {
      throw new SluiceError('SLUICE_ERR_DATATYPE_UNSUPPORTED', { tensor: `'${name}'`, datatype, supported: [...dtypeOf.keys()].join(', ') });
    }
    throw badRequest(`input '${name}' has datatype '${datatype}', which the Open Inference Protocol does not define (${[...protocolDatatypes].join(', ')})`);
  }
  const spec = model.expectInput(name);
  if (dtypeOf.get(datatype) !== spec.dtype) throw model.invalid(`input '${name}' is ${datatype} but the model expects ${datatypeOf[spec.dtype]}`);
  return spec;
}

/** `{name, datatype, shape}` as the metadata endpoints give it; -1 marks a free dimension. */
export function tensorMetadata(spec: TensorSpec): { name: string; datatype: string; shape: number[] } {
  return { name: spec.name, datatype: datatypeOf[spec.dtype], shape: [...spec.shape] };
}

/** Elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
