/**
 * The embedded TensorFlow.js executor (model type `TENSORFLOWJS`): layers models (Keras-style,
 * `format: 'layers-model'`) and graph models (`'graph-model'`, converted from TensorFlow), run
 * inside the streaming process. No native TensorFlow: the model computes on TF.js's WebAssembly
 * backend (default) or its pure-JavaScript one.
 *
 * The model arrives as one archive in the descriptor's bytes (see ./archive.ts), or by
 * `modelSourceLocation`: a local archive file, a model directory or its model.json.
 *
 * Tensor names, which the serving adapter maps records to:
 * - layers models: inputs are named by the model's input layers (`tf.input({name: 'users'})`),
 *   outputs by the layers that produce them (`{name: 'predictions'}` on the last layer);
 * - graph models: by their signature keys when model.json has a signature, else by node names.
 * Shapes have -1 for free dimensions. dtypes are TF.js's: float32, int32, bool, string (TF.js
 * has no int64 or float64 tensors; inputs must come in the dtype the model declares).
 *
 * Backend, measured here (2 cores, Node 20, `npx tsx test/serving/tfjs/measure-backends.ts`,
 * rows/s through this executor's `infer` at batch 512, four runs):
 *   recommender example (3 embedding gathers, dot, dense):  wasm 600–675k   cpu 365–405k  (1.6×)
 *   dense net 784→32→32→10:                                 wasm 440–500k   cpu ~14k      (30×)
 * so `wasm` is the default. The recommender is bound by TF.js's gather kernel (~0.5 µs per
 * index on either backend, which checks every index in JavaScript); onnxruntime scores the same
 * kind of model ~25× faster per CPU-second (DESIGN.md).
 *
 * Scoring calls `model.apply` (layers) or `model.execute` (graph), never `predict`, whose default
 * batch of 32 slices every batch and is slow. Every tensor a call makes is disposed before it
 * returns; `unload` disposes the weights.
 *
 * This module is light: TF.js (half a second to import) loads with ./executor.ts on the first
 * `load`, so a process that never serves a TF.js model never pays for it. The archive helpers
 * need no TF.js at run time.
 */
import { SluiceError, messageOf } from '../../../core/errors.js';
import type { ModelDescriptor } from '../../descriptor.js';
import type { CallOptions, Executor, LoadedModel } from '../../executor.js';
import type { TfjsBackend } from './backend.js';

export { packTfjsArchive, unpackTfjsArchive, TfjsArchiveError, type UnpackOptions } from './archive.js';
export { archiveFileHandler, archiveLoadHandler, archiveSaveHandler, saveTfjsArchive, type TfjsSavable } from './handlers.js';
export type { TfjsBackend } from './backend.js';

export const tfjsBackends: readonly TfjsBackend[] = ['wasm', 'cpu'];

export interface TfjsExecutorOptions {
  /** Default `wasm` (faster here; see the numbers above). */
  readonly backend?: TfjsBackend;
}

export function createTfjsExecutor(options: TfjsExecutorOptions = {}): Executor {
  if (options.backend !== undefined && !tfjsBackends.includes(options.backend)) {
    throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `TF.js backend must be ${tfjsBackends.join(' or ')}, not '${String(options.backend)}'` });
  }
  const settings = Object.freeze({ ...options });
  let executor: Promise<Executor> | undefined;
  return {
    modelType: 'TENSORFLOWJS',
    async load(descriptor: ModelDescriptor, callOptions?: CallOptions): Promise<LoadedModel> {
      executor ??= import('./executor.js').then((m) => m.createTfjsExecutor(settings));
      let loaded: Executor;
      try {
        loaded = await executor;
      } catch (err) {
        executor = undefined; // the next update tries again
        throw new SluiceError(
          'SLUICE_ERR_MODEL_INVALID',
          { modelName: descriptor.modelName, message: `TF.js cannot be loaded: ${messageOf(err)}` },
          { cause: err },
        );
      }
      return loaded.load(descriptor, callOptions);
    },
  };
}

/** The default TF.js executor, on the WebAssembly backend. */
export const tfjsExecutor: Executor = createTfjsExecutor();
