import { SluiceError } from '../core/errors.js';
import { PluginRegistry } from '../core/plugins.js';
import type { ModelDescriptor } from './descriptor.js';
import type { CallOptions, Executor, LoadedModel } from './executor.js';

/** Executors by model type. `load` picks the executor for a descriptor or rejects the update. */
export class ExecutorRegistry {
  private readonly plugins = new PluginRegistry<Executor>('executor');

  register(executor: Executor): this {
    this.plugins.register(executor.modelType, executor);
    return this;
  }

  seal(): this {
    this.plugins.seal();
    return this;
  }

  modelTypes(): string[] {
    return this.plugins.names();
  }

  load(descriptor: ModelDescriptor, options?: CallOptions): Promise<LoadedModel> {
    const executor = this.plugins.get(descriptor.modelType);
    if (!executor) {
      return Promise.reject(
        new SluiceError('SLUICE_ERR_NO_EXECUTOR', { modelType: `${descriptor.modelType} (registered: ${this.modelTypes().join(', ') || 'none'})` }),
      );
    }
    return executor.load(descriptor, options);
  }
}
