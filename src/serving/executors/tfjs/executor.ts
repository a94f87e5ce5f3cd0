/**
 * The TF.js executor's implementation (see ./index.ts for what it serves and how it names
 * tensors): loading through ./source.ts and ./model.ts, scoring with `model.apply` (layers) or
 * `model.execute` (graph), never `predict`, whose default batch of 32 slices every batch and is
 * slow. Every tensor a call makes is disposed before it returns; `unload` disposes the weights.
 */
import * as tf from '@tensorflow/tfjs';
import { SluiceError, messageOf } from '../../../core/errors.js';
import type { ModelDescriptor } from '../../descriptor.js';
import type { CallOptions, Executor, LoadedModel, ModelMetadata } from '../../executor.js';
import { emptyOutputs, inputFor } from '../../signature.js';
import { zeros, type DType, type NamedTensors, type Tensor, type TensorSpec } from '../../tensor.js';
import { BackendSelector } from './backend.js';
import type { TfjsExecutorOptions } from './index.js';
import { buildModel, declaredGraphSignature, freeze, layersSignature, scoped, spec, type PartialSpec, type TfjsModelHandle } from './model.js';
import { invalidModel } from '../../model-source.js';
import { artifactsOf } from './source.js';

/** The executor; ./index.ts loads this module (and TF.js with it) on the first load. */
export function createTfjsExecutor(options: TfjsExecutorOptions): Executor {
  // One backend per executor, initialised on its first load.
  const backend = new BackendSelector(options.backend ?? 'wasm');
  return {
    modelType: 'TENSORFLOWJS',
    async load(descriptor: ModelDescriptor, callOptions?: CallOptions): Promise<LoadedModel> {
      callOptions?.signal?.throwIfAborted();
      const artifacts = await artifactsOf(descriptor);
      let handle: TfjsModelHandle;
      try {
        handle = await buildModel(artifacts, (work) => backend.run(work));
      } catch (err) {
        throw invalidModel(descriptor, `TF.js cannot build the model: ${messageOf(err)}`, err);
      }
      try {
        const model = new TfjsModel(descriptor.modelName, handle, backend);
        await model.readSignature();
        callOptions?.signal?.throwIfAborted();
        return model;
      } catch (err) {
        handle.model.dispose();
        throw err;
      }
    },
  };
}

/** TF.js tells a graph with async ops (control flow, dynamic shapes) by this in its error. */
const needsExecuteAsync = /executeAsync/;

class TfjsModel implements LoadedModel {
  #handle: TfjsModelHandle | undefined;
  #signature: ModelMetadata = freeze([], []);
  /** A graph model that TF.js can only run with executeAsync. */
  #dynamic = false;

  constructor(
    private readonly modelName: string,
    handle: TfjsModelHandle,
    private readonly backend: BackendSelector,
  ) {
    this.#handle = handle;
  }

  metadata(): ModelMetadata {
    return this.#signature;
  }

  async infer(inputs: NamedTensors, options?: CallOptions): Promise<NamedTensors> {
    options?.signal?.throwIfAborted();
    const handle = this.#handle;
    if (handle === undefined) throw this.failed('the model has been unloaded');
    const given = this.#signature.inputs.map((spec) => this.checkInput(spec, inputs));
    if (given.length > 0 && given.every((t) => t.shape[0] === 0)) return emptyOutputs(this.#signature);
    try {
      return await this.run(handle, given);
    } catch (err) {
      throw this.failed(messageOf(err), err);
    }
  }

  async unload(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    handle?.model.dispose();
  }

  /** Reads the signature; for a graph model whose outputs declare no dtype or shape, from a one-row probe run. */
  async readSignature(): Promise<void> {
    const handle = this.#handle as TfjsModelHandle;
    try {
      if (handle.kind === 'layers') {
        this.#signature = layersSignature(handle.model);
        return;
      }
      const declared = declaredGraphSignature(handle.model);
      const inputs = declared.inputs.map((s) => complete(s, 'input'));
      const known = declared.outputs.every((s) => s.dtype !== undefined && s.shape !== undefined);
      this.#signature = freeze(inputs, known ? declared.outputs.map((s) => complete(s, 'output')) : []);
      if (!known) this.#signature = freeze(inputs, await this.probeOutputs(handle, inputs, declared.outputs));
    } catch (err) {
      throw err instanceof SluiceError ? err : new SluiceError('SLUICE_ERR_MODEL_SIGNATURE', { modelName: this.modelName, message: messageOf(err) });
    }
  }

  private async probeOutputs(handle: TfjsModelHandle, inputs: readonly TensorSpec[], outputs: readonly PartialSpec[]): Promise<TensorSpec[]> {
    // One row of zeros; a free dimension is 1. Output dimensions after the first stay free when an
    // input has free dimensions after the first, since they may follow them.
    const probe = inputs.map((s) =>
      zeros(
        s.dtype,
        s.shape.map((d) => (d < 0 ? 1 : d)),
      ),
    );
    const freeInner = inputs.some((s) => s.shape.slice(1).some((d) => d < 0));
    let result: NamedTensors;
    try {
      result = await this.run(
        handle,
        probe,
        outputs.map((s) => s.name),
      );
    } catch (err) {
      throw new Error(`its outputs declare no dtype or shape, and a probe run with one row of zeros failed: ${messageOf(err)}`, { cause: err });
    }
    return outputs.map((declared) => {
      const probed = result[declared.name] as Tensor;
      const shape = declared.shape ?? probed.shape.map((d, i) => (i === 0 || freeInner ? -1 : d));
      return spec(declared.name, declared.dtype ?? probed.dtype, shape, 'output');
    });
  }

  private async run(handle: TfjsModelHandle, given: readonly Tensor[], outputNames = this.#signature.outputs.map((s) => s.name)): Promise<NamedTensors> {
    const copy = this.backend.name === 'cpu';
    if (handle.kind === 'layers') {
      return this.backend.run(() =>
        scoped(() => {
          const result = handle.model.apply(given.map(toTf), { training: false });
          return read(outputNames, [result].flat() as tf.Tensor[], copy);
        }),
      );
    }
    const model = handle.model;
    const feed = (): tf.NamedTensorMap => Object.fromEntries(this.#signature.inputs.map((s, i) => [s.name, toTf(given[i] as Tensor)]));
    if (!this.#dynamic) {
      try {
        // No enclosing scope here: the first execute runs the model's initializer graph (hash
        // tables...), whose tensors the model keeps; execute disposes its intermediates itself.
        return await this.backend.run(() => {
          const feeds = feed();
          try {
            return readAndDispose(outputNames, model.execute(feeds, outputNames), copy);
          } finally {
            tf.dispose(feeds);
          }
        });
      } catch (err) {
        if (!needsExecuteAsync.test(messageOf(err))) throw err;
        this.#dynamic = true;
      }
    }
    const feeds = await this.backend.run(feed);
    try {
      return readAndDispose(outputNames, await model.executeAsync(feeds, outputNames), copy);
    } finally {
      tf.dispose(feeds);
    }
  }

  private checkInput(spec: TensorSpec, inputs: NamedTensors): Tensor {
    const given = inputFor(this.#signature, spec, inputs);
    if (typeof given === 'string') throw this.failed(given);
    return given;
  }

  private failed(message: string, cause?: unknown): SluiceError<'SLUICE_ERR_INFERENCE_FAILED'> {
    return new SluiceError('SLUICE_ERR_INFERENCE_FAILED', { modelName: this.modelName, message }, cause === undefined ? undefined : { cause });
  }
}

function complete(partial: PartialSpec, kind: string): TensorSpec {
  if (partial.dtype === undefined) throw new Error(`${kind} '${partial.name}' declares no dtype`);
  if (partial.shape === undefined) throw new Error(`${kind} '${partial.name}' declares no shape`);
  return spec(partial.name, partial.dtype, partial.shape, kind);
}

/** A TF.js tensor holding a Sluice tensor's values (dtype already checked against the model's). */
function toTf(t: Tensor): tf.Tensor {
  const shape = [...t.shape];
  switch (t.dtype) {
    case 'float32':
    case 'int32':
    case 'bool':
      return tf.tensor(t.data as Float32Array | Int32Array | Uint8Array, shape, t.dtype);
    case 'string':
      return tf.tensor(t.data as string[], shape, 'string');
    default:
      throw new Error(`TF.js has no ${t.dtype} tensors`);
  }
}

function readAndDispose(names: readonly string[], result: tf.Tensor | tf.Tensor[], copy: boolean): NamedTensors {
  const tensors = [result].flat();
  try {
    return read(names, tensors, copy);
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * Sluice tensors from a model's outputs, in output order. The cpu backend hands back the very
 * array it stores (which may be a model weight or the caller's input): `copy` takes a copy.
 */
function read(names: readonly string[], tensors: readonly tf.Tensor[], copy: boolean): NamedTensors {
  if (tensors.length !== names.length) throw new Error(`the model returned ${tensors.length} tensors for ${names.length} outputs`);
  const outputs: Record<string, Tensor> = {};
  tensors.forEach((t, i) => {
    const name = names[i] as string;
    const data = t.dataSync<tf.DataType>();
    const shape = [...t.shape];
    if (t.dtype === 'string') outputs[name] = { dtype: 'string', shape, data: [...(data as unknown as string[])] };
    else if (data instanceof Float32Array && t.dtype === 'float32') outputs[name] = { dtype: 'float32', shape, data: copy ? data.slice() : data };
    else if (data instanceof Int32Array && t.dtype === 'int32') outputs[name] = { dtype: 'int32', shape, data: copy ? data.slice() : data };
    else if (data instanceof Uint8Array && t.dtype === 'bool') outputs[name] = { dtype: 'bool', shape, data: copy ? data.slice() : data };
    else throw new Error(`output '${name}' has dtype ${t.dtype}, which Sluice tensors do not carry`);
  });
  return outputs;
}
