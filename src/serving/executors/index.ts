import { ExecutorRegistry } from '../registry.js';
import { openInferenceExecutor, seldonExecutor, tfServingExecutor } from '../remote/remote-executor.js';
import { onnxExecutor } from './onnx.js';
import { pmmlExecutor } from './pmml/index.js';
import { tfjsExecutor } from './tfjs/index.js';

/**
 * A sealed registry with every executor that ships with Sluice: embedded ONNX, TensorFlow.js and
 * PMML, and remote Open Inference, TensorFlow Serving and Seldon (models on a model server).
 */
export function defaultExecutors(): ExecutorRegistry {
  return new ExecutorRegistry()
    .register(onnxExecutor)
    .register(tfjsExecutor)
    .register(pmmlExecutor)
    .register(openInferenceExecutor)
    .register(tfServingExecutor)
    .register(seldonExecutor)
    .seal();
}
