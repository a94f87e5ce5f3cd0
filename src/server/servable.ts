/**
 * What the model server serves: a *servable*, anything that turns named tensors into named
 * tensors and describes its signature. A model version loaded by an executor is one; an
 * inference graph (./graph/, models, transformers, combiners and routers under one name) is
 * another. The file a version folder holds picks the kind, from one table.
 */
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import type { ModelType } from '../serving/descriptor.js';
import type { CallOptions, LoadedModel, ModelMetadata } from '../serving/executor.js';
import type { ExecutorRegistry } from '../serving/registry.js';
import type { NamedTensors } from '../serving/tensor.js';
import { graphKind } from './graph/graph-servable.js';

export interface ServeOptions extends CallOptions {
  /** The request's id: a graph's routers remember the routes they chose for it, to credit them on feedback. */
  readonly requestId?: string;
}

/** A reward for one request a graph routed, naming it by its id or by the routes it took (router name → child index, as Seldon sends them). */
export interface Feedback {
  readonly reward: number;
  readonly requestId?: string;
  readonly routing?: Readonly<Record<string, number>>;
}

export interface Servable extends LoadedModel {
  /** The platform as Open Inference metadata reports it, e.g. `onnxruntime_onnx`. */
  readonly platform: string;
  /**
   * True when requests go to it directly and concurrently rather than through the version's
   * batcher: a graph calls models that batch on their own, and routes each request on its own.
   */
  readonly batchesInside?: boolean;
  infer(inputs: NamedTensors, options?: ServeOptions): Promise<NamedTensors>;
  /** Whether it routes requests (and so remembers their routes by id for feedback). */
  readonly routes?: boolean;
  /** The routes a request took, router name → child index; empty when none is remembered. */
  routing?(requestId: string): Readonly<Record<string, number>>;
  /** Credits the routes a request took with a reward; returns them. Throws when there is nothing to credit. */
  feedback?(feedback: Feedback): Readonly<Record<string, number>>;
}

/** The models of the repository, as a servable that calls other models (a graph) sees them. */
export interface ModelCatalog {
  /** The newest served version of `model`; throws 404 / 503 errors naming what is missing. */
  describe(model: string): { readonly signature: ModelMetadata; readonly platform: string };
  /** Scores `inputs` with the newest served version of `model`, batched with its other requests. */
  infer(model: string, inputs: NamedTensors): Promise<NamedTensors>;
  /** Names in the repository, sorted. */
  names(): string[];
}

/** What a graph's routers report, for metrics. */
export interface RouteObserver {
  routed(model: string, router: string, child: string): void;
  credited(model: string, router: string, child: string, reward: number): void;
}

export interface ServableContext {
  readonly executors: ExecutorRegistry;
  readonly models: ModelCatalog;
  readonly routes: RouteObserver;
  readonly log: Logger;
}

/** One file kind a version folder can hold, found by its exact name. */
export interface ServableKind {
  readonly fileName: string;
  readonly platform: string;
  /** It serves other models of the repository: loaded after them, and tried again when what they serve changes. */
  readonly usesModels?: boolean;
  load(path: string, modelName: string, context: ServableContext): Promise<Servable>;
}

function executorKind(fileName: string, platform: string, modelType: ModelType): ServableKind {
  return {
    fileName,
    platform,
    async load(path, modelName, { executors }) {
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

/** The file kinds Sluice serves: one per embedded executor, and inference graphs. A TF.js model is an archive (`model.tfjs`) or `model.json` beside its weight files. */
export const servableKinds: readonly ServableKind[] = [
  executorKind('model.onnx', 'onnxruntime_onnx', 'ONNX'),
  executorKind('model.pmml', 'pmml', 'PMML'),
  executorKind('model.tfjs', 'tensorflowjs', 'TENSORFLOWJS'),
  executorKind('model.json', 'tensorflowjs', 'TENSORFLOWJS'),
  graphKind,
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
