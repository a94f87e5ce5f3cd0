import { ExecutorRegistry } from '../registry.js';
import { onnxExecutor } from './onnx.js';
import { pmmlExecutor } from './pmml/index.js';
import { tfjsExecutor } from './tfjs/index.js';

/** A sealed registry with every executor that ships with Sluice: ONNX, TensorFlow.js and PMML. */
export function defaultExecutors(): ExecutorRegistry {
  return new ExecutorRegistry().register(onnxExecutor).register(tfjsExecutor).register(pmmlExecutor).seal();
}
