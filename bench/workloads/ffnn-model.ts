/**
 * Crayfish's feed-forward network (EDBT 2024): a 28×28 image in, 10 class probabilities out,
 * about 28K parameters. Here 784→32→32→10 (Gemm + Relu, Gemm + Relu, Gemm, Softmax), written
 * with Sluice's ONNX builder, weights drawn from a seed (Glorot-uniform), so every run serves
 * the same model without a download or a training step: what a call costs does not depend on
 * what the weights learned.
 */
import { encodeModel, float32Initializer, intAttr, node, valueInfo } from '../../src/serving/onnx-builder.js';
import { seededRandom } from '../../src/util/random.js';

export const FFNN_INPUT = 'pixels';
export const FFNN_OUTPUT = 'probabilities';
/** Units per layer, input first. */
export const FFNN_LAYERS = [784, 32, 32, 10] as const;
export const FFNN_INPUT_WIDTH = FFNN_LAYERS[0];
export const FFNN_CLASSES = FFNN_LAYERS[FFNN_LAYERS.length - 1] as number;
export const FFNN_MODEL_NAME = 'crayfish-ffnn';

/** Weights and biases of the network: Σ inputs × units + units over its layers. */
export function ffnnParameterCount(layers: readonly number[] = FFNN_LAYERS): number {
  let count = 0;
  for (let i = 1; i < layers.length; i++) count += (layers[i - 1] as number) * (layers[i] as number) + (layers[i] as number);
  return count;
}

export function buildFfnnModel(seed = 7): Uint8Array {
  const random = seededRandom(seed);
  const initializers = [];
  const nodes = [];
  let previous = FFNN_INPUT;
  for (let i = 1; i < FFNN_LAYERS.length; i++) {
    const inputs = FFNN_LAYERS[i - 1] as number;
    const units = FFNN_LAYERS[i] as number;
    const limit = Math.sqrt(6 / (inputs + units));
    const kernel = Float32Array.from({ length: inputs * units }, () => (2 * random() - 1) * limit);
    const bias = Float32Array.from({ length: units }, () => 0.01 * (2 * random() - 1));
    initializers.push(float32Initializer(`kernel_${i}`, [inputs, units], kernel), float32Initializer(`bias_${i}`, [units], bias));
    const last = i === FFNN_LAYERS.length - 1;
    nodes.push(node('Gemm', [previous, `kernel_${i}`, `bias_${i}`], [last ? 'logits' : `dense_${i}`]));
    if (!last) nodes.push(node('Relu', [`dense_${i}`], [`relu_${i}`]));
    previous = last ? 'logits' : `relu_${i}`;
  }
  nodes.push(node('Softmax', ['logits'], [FFNN_OUTPUT], [intAttr('axis', 1)]));
  return encodeModel(
    {
      name: FFNN_MODEL_NAME,
      docString: `Crayfish's FFNN ${FFNN_LAYERS.join('→')}, ${ffnnParameterCount()} parameters, weights from seed ${seed}`,
      inputs: [valueInfo(FFNN_INPUT, 'float32', ['batch', FFNN_INPUT_WIDTH])],
      outputs: [valueInfo(FFNN_OUTPUT, 'float32', ['batch', FFNN_CLASSES])],
      initializers,
      nodes,
    },
    { docString: 'Sluice bench: the feed-forward network of the Crayfish benchmark' },
  );
}
