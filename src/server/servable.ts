/**
 * What the model server serves: a *servable*, anything that turns named tensors into named
 * tensors and describes its signature. A model version loaded by an executor is one; an
 * inference graph (models, transformers, combiners, routers under one name) will be another,
 * loaded from its own file kind, with no change to the repository or the protocols.
 */
import { join } from 'node:path';
import type { ModelType } from '../serving/descriptor.js';
import type { LoadedModel } from '../serving/executor.js';
import type { ExecutorRegistry } from '../serving/registry.js';

export interface Servable extends LoadedModel {
  /** The platform as Open Inference metadata reports it, e.g. `onnxruntime_onnx`. */
  readonly platform: string;
}

/** One file kind a version folder can hold, found by its exact name. */
export interface ServableKind {
  readonly fileName: string;
  readonly platform: string;
  load(path: string, modelName: string, executors: ExecutorRegistry): Promise<Servable>;
}

function executorKind(fileName: string, platform: string, modelType: ModelType): ServableKind {
  return {
    fileName,
    platform,
    async load(path, modelName, executors) {
      const model = await executors.load({ modelName, description: `${modelName} from ${path}`, modelType, modelBytes: null, modelSourceLocation: path });
      return {
        platform,
        metadata: () => model.metadata(),
        infer: (inputs, options) => model.infer(inputs, options),
        unload: () => model.unload(),
      };
    },
  };
}

/** The file kinds Sluice serves: one per embedded executor. A TF.js model is an archive (`model.tfjs`) or `model.json` beside its weight files. */
export const servableKinds: readonly ServableKind[] = [
  executorKind('model.onnx', 'onnxruntime_onnx', 'ONNX'),
  executorKind('model.pmml', 'pmml', 'PMML'),
  executorKind('model.tfjs', 'tensorflowjs', 'TENSORFLOWJS'),
  executorKind('model.json', 'tensorflowjs', 'TENSORFLOWJS'),
];

/** The kind of servable in a version folder, from the file names it holds, or why there is none. */
export function servableIn(folder: string, fileNames: readonly string[]): { kind: ServableKind; path: string } | string {
  const found = servableKinds.filter((kind) => fileNames.includes(kind.fileName));
  if (found.length === 1) {
    const [kind] = found as [ServableKind];
    return { kind, path: join(folder, kind.fileName) };
  }
  const expected = servableKinds.map((k) => k.fileName).join(', ');
  if (found.length === 0) return `no model file in ${folder}: expected one of ${expected}`;
  return `${folder} holds ${found.map((k) => k.fileName).join(' and ')}: a version folder holds one model file`;
}
