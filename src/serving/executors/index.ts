import { ExecutorRegistry } from '../registry.js';
import { onnxExecutor } from './onnx.js';

/** A sealed registry with every executor that ships with Sluice. */
export function defaultExecutors(): ExecutorRegistry {
  return new ExecutorRegistry().register(onnxExecutor).seal();
}
