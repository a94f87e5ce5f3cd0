/** Tiny ONNX models whose true attributions are known, built with Sluice's own ONNX builder. */
import { encodeModel, float32Initializer, intAttr, node, valueInfo } from '../../../src/serving/onnx-builder.js';
import type { ModelDescriptor } from '../../../src/serving/descriptor.js';

export interface LinearModel {
  readonly weights: readonly number[];
  readonly bias: number;
  /** Adds x₀·x₁·x₂ to the output: a three-way interaction, which Shapley values split in thirds (and e.g. Banzhaf values do not). */
  readonly interaction?: boolean;
  /** Input and output tensor names; default `x` and `y`. */
  readonly input?: string;
  readonly output?: string;
}

/** y = w·x + b (+ x₀·x₁·x₂ with `interaction`), input float32 [n,k], output float32 [n,1]. */
export function linearModel(options: LinearModel): Uint8Array {
  const k = options.weights.length;
  const input = options.input ?? 'x';
  const output = options.output ?? 'y';
  const column = (j: number) => Array.from({ length: k }, (_, i) => (i === j ? 1 : 0));
  const linear = [node('MatMul', [input, 'w'], ['xw']), node('Add', ['xw', 'b'], [options.interaction ? 'linear' : output])];
  const product = [
    node('MatMul', [input, 'e0'], ['x0']),
    node('MatMul', [input, 'e1'], ['x1']),
    node('MatMul', [input, 'e2'], ['x2']),
    node('Mul', ['x0', 'x1'], ['x0x1']),
    node('Mul', ['x0x1', 'x2'], ['x0x1x2']),
    node('Add', ['linear', 'x0x1x2'], [output]),
  ];
  return encodeModel({
    name: 'linear',
    inputs: [valueInfo(input, 'float32', ['batch', k])],
    outputs: [valueInfo(output, 'float32', ['batch', 1])],
    initializers: [
      float32Initializer('w', [k, 1], options.weights),
      float32Initializer('b', [1], [options.bias]),
      ...(options.interaction ? [0, 1, 2].map((j) => float32Initializer(`e${j}`, [k, 1], column(j))) : []),
    ],
    nodes: options.interaction ? [...linear, ...product] : linear,
  });
}

/** The same function in plain JS (float64), as a second, independent method. */
export function linearFunction(options: LinearModel): (x: ArrayLike<number>) => number {
  return (x) => {
    let y = options.bias;
    options.weights.forEach((w, i) => (y += w * (x[i] as number)));
    return options.interaction ? y + (x[0] as number) * (x[1] as number) * (x[2] as number) : y;
  };
}

export function descriptor(modelName: string, bytes: Uint8Array): ModelDescriptor {
  return { modelName, description: `test model ${modelName}`, modelType: 'ONNX', modelBytes: Buffer.from(bytes), modelSourceLocation: null };
}

/** y = w·concat(a, b) + bias: two input tensors, a float32 [n,2] and b float32 [n,1], to check how features map onto tensors. */
export function twoInputModel(weights: readonly [number, number, number], bias: number): Uint8Array {
  return encodeModel({
    name: 'two-inputs',
    inputs: [valueInfo('a', 'float32', ['batch', 2]), valueInfo('b', 'float32', ['batch', 1])],
    outputs: [valueInfo('y', 'float32', ['batch', 1])],
    initializers: [float32Initializer('w', [3, 1], weights), float32Initializer('bias', [1], [bias])],
    nodes: [node('Concat', ['a', 'b'], ['ab'], [intAttr('axis', 1)]), node('MatMul', ['ab', 'w'], ['abw']), node('Add', ['abw', 'bias'], ['y'])],
  });
}
