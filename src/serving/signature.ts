/**
 * Checks of a batch against a loaded model's signature, the same for every executor, so every
 * executor words its errors the same way.
 */
import type { ModelMetadata } from './executor.js';
import { formatShape, shapeMatches, zeros, type NamedTensors, type Tensor, type TensorSpec } from './tensor.js';

/** The input tensor for `spec`, or why the batch does not give a fitting one. */
export function inputFor(signature: ModelMetadata, spec: TensorSpec, inputs: NamedTensors): Tensor | string {
  const given = inputs[spec.name];
  if (given === undefined) {
    const names = Object.keys(inputs);
    return (
      `missing input '${spec.name}': the model takes ${signature.inputs.map((s) => `'${s.name}'`).join(', ')}` +
      `, the batch has ${names.length > 0 ? names.map((n) => `'${n}'`).join(', ') : 'no tensors'}`
    );
  }
  if (given.dtype !== spec.dtype) return `input '${spec.name}' is ${given.dtype} but the model expects ${spec.dtype}`;
  if (!shapeMatches(spec.shape, given.shape))
    return `input '${spec.name}' has shape ${formatShape(given.shape)} but the model expects ${formatShape(spec.shape)}`;
  return given;
}

/**
 * Zero rows out for zero rows in, shaped from the signature, without running the model: some
 * runtimes' kernels hand an empty input back unchanged, which would give a wrongly shaped output.
 */
export function emptyOutputs(signature: ModelMetadata): NamedTensors {
  const outputs: Record<string, Tensor> = {};
  for (const spec of signature.outputs)
    outputs[spec.name] = zeros(
      spec.dtype,
      spec.shape.map((d, i) => (i === 0 || d < 0 ? 0 : d)),
    );
  return outputs;
}
