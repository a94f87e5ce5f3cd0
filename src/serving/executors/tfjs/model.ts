/**
 * Building TF.js models from checked artifacts, and reading their tensor signature.
 *
 * Loading makes no tensor it does not keep: every step runs inside a TF.js scope, so a model
 * that fails half way through loading (an unknown layer class, weights that do not fit) leaves
 * nothing behind in the engine.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelMetadata } from '../../executor.js';
import type { DType, TensorSpec } from '../../tensor.js';

/** A loaded model of either kind TF.js has. */
export type TfjsModelHandle = { readonly kind: 'layers'; readonly model: tf.LayersModel } | { readonly kind: 'graph'; readonly model: GraphModel };

/** A graph model loaded synchronously, from memory. */
export type GraphModel = tf.GraphModel<tf.io.IOHandlerSync>;

/** A layers model (Keras-style, `format: 'layers-model'`) or a graph model (`'graph-model'`, a GraphDef). */
export function modelKind(artifacts: tf.io.ModelArtifacts): 'layers' | 'graph' {
  const topology = artifacts.modelTopology as Record<string, unknown> | undefined;
  if (artifacts.format === 'layers-model') return 'layers';
  if (artifacts.format === 'graph-model') return 'graph';
  if (topology !== undefined) {
    if (Array.isArray(topology.node)) return 'graph';
    if (typeof topology.class_name === 'string' || typeof topology.model_config === 'object') return 'layers';
  }
  throw new Error(
    `model.json's format is ${JSON.stringify(artifacts.format ?? null)} and its modelTopology is neither a Keras model ` +
      '(class_name / model_config) nor a GraphDef (node): it is not a TF.js layers or graph model',
  );
}

/** Runs synchronous TF.js work on the executor's backend (see ./backend.ts). */
export type OnBackend = <T>(work: () => T) => Promise<T>;

/** Builds the model on the executor's backend; the caller disposes it. */
export async function buildModel(artifacts: tf.io.ModelArtifacts, onBackend: OnBackend): Promise<TfjsModelHandle> {
  if (modelKind(artifacts) === 'graph') return { kind: 'graph', model: await onBackend(() => buildGraphModel(artifacts)) };
  return { kind: 'layers', model: await buildLayersModel(artifacts, onBackend) };
}

async function buildLayersModel(artifacts: tf.io.ModelArtifacts, onBackend: OnBackend): Promise<tf.LayersModel> {
  const { pending, created } = await onBackend(() => {
    const variablesBefore = new Set(Object.keys(tf.engine().state.registeredVariables));
    // With no weightsManifest, modelFromJSON builds the model before its first `await`: it runs
    // synchronously, here, inside the scope. Training config and optimizer state are left out:
    // the model only scores.
    const pending = scoped(() => tf.models.modelFromJSON({ modelTopology: artifacts.modelTopology } as ModelConfig));
    pending.catch(() => undefined); // awaited below; this only keeps the rejection from looking unhandled
    // Variables are not scope-tracked: the ones this build made are exactly those new since it began.
    const registered = tf.engine().state.registeredVariables;
    const created = Object.keys(registered)
      .filter((name) => !variablesBefore.has(name))
      .map((name) => registered[name]);
    return { pending, created };
  });
  let model: tf.LayersModel;
  try {
    model = await pending;
  } catch (err) {
    for (const variable of created) variable?.dispose();
    throw err;
  }
  try {
    await onBackend(() =>
      scoped(() => {
        const specs = artifacts.weightSpecs ?? [];
        const decoded = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), specs);
        const weights: tf.NamedTensorMap = {};
        for (const spec of specs) {
          const value = decoded[spec.name];
          if (spec.group !== 'optimizer' && value !== undefined) weights[spec.name] = value;
        }
        // A Sequential model names its inputs and outputs only once built; TF.js builds it lazily.
        if (model instanceof tf.Sequential && !model.built) model.build();
        model.loadWeights(weights, true); // strict: every weight of the model given, nothing extra
      }),
    );
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

type ModelConfig = Parameters<typeof tf.models.modelFromJSON>[0];

function buildGraphModel(artifacts: tf.io.ModelArtifacts): GraphModel {
  // With an IOHandlerSync, GraphModel.load() is synchronous; the weight tensors it decodes are
  // kept, anything else the scope saw is disposed (everything, if loading throws).
  return scoped(
    () => {
      const model = new tf.GraphModel(tf.io.fromMemorySync(artifacts));
      model.load();
      const unsupported = unsupportedGraphOps(model);
      if (unsupported.length > 0) throw new Error(`the graph uses ops TF.js cannot run: ${unsupported.join(', ')}`);
      return model;
    },
    (model) => Object.values(model.weights).flat(),
  );
}

interface GraphNode {
  readonly name: string;
  readonly op: string;
  readonly category?: string;
  readonly inputs?: readonly GraphNode[];
}

interface Graph {
  readonly outputs?: readonly GraphNode[];
  readonly functions?: Readonly<Record<string, Graph>>;
}

/**
 * The ops, on the way to the model's outputs, that TF.js has no kernel mapping for. TF.js itself
 * only notices when it runs them, which would make every record fail instead of the update.
 * Reads the graph TF.js parsed (not a public API: if its shape changes, nothing is reported and
 * the run-time error remains).
 */
function unsupportedGraphOps(model: GraphModel): string[] {
  const root = (model as unknown as { executor?: { graph?: Graph } }).executor?.graph;
  const unsupported = new Set<string>();
  const seen = new Set<GraphNode>();
  const visit = (graph: Graph | undefined): void => {
    const stack = [...(graph?.outputs ?? [])];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      if (seen.has(node)) continue;
      seen.add(node);
      if (node.category === undefined) unsupported.add(`${node.op} (node '${node.name}')`);
      stack.push(...(node.inputs ?? []));
    }
    for (const inner of Object.values(graph?.functions ?? {})) visit(inner);
  };
  visit(root);
  return [...unsupported];
}

/**
 * `tf.tidy` for work that returns something other than tensors: tensors `work` makes are
 * disposed when it ends (also when it throws), except the ones `keep` names.
 */
export function scoped<T>(work: () => T, keep: (result: T) => tf.Tensor[] = () => []): T {
  let result!: T;
  tf.tidy(() => {
    result = work();
    for (const tensor of keep(result)) tf.keep(tensor);
  });
  return result;
}

/** The model's inputs and outputs, named as `infer` takes and returns them. */
export function layersSignature(model: tf.LayersModel): ModelMetadata {
  const specs = (names: readonly string[], tensors: readonly tf.SymbolicTensor[], kind: string): TensorSpec[] => {
    const seen = new Set<string>();
    return names.map((name, i) => {
      if (seen.has(name)) throw new Error(`two ${kind}s are both named '${name}'; ${kind} layers must have unique names`);
      seen.add(name);
      const tensor = tensors[i];
      if (tensor === undefined) throw new Error(`${kind} '${name}' has no tensor`);
      return spec(name, tensor.dtype, tensor.shape, kind);
    });
  };
  return freeze(specs(model.inputNames, model.inputs, 'input'), specs(model.outputNames, model.outputs, 'output'));
}

/** A graph model's tensor signature: from its signature, else from its nodes' attributes. */
export function declaredGraphSignature(model: GraphModel): { inputs: PartialSpec[]; outputs: PartialSpec[] } {
  const signature = model.modelSignature as GraphSignature | undefined;
  const declared = (key: string, side: 'inputs' | 'outputs') => signature?.[side]?.[key];
  const captured = new Set(
    Object.entries(signature?.inputs ?? {})
      .filter(([, info]) => info.resourceId !== undefined && info.resourceId !== null)
      .map(([key]) => key),
  );
  const side = (names: readonly string[], infos: readonly TensorInfoLike[], kind: 'inputs' | 'outputs'): PartialSpec[] =>
    names.flatMap((name, i) => {
      if (kind === 'inputs' && captured.has(name)) return []; // fed by the model's own initializer
      const info = infos[i];
      const entry = declared(name.replace(/:\d+$/, ''), kind) ?? declared(name, kind);
      return [
        {
          name,
          dtype: info?.dtype ?? (entry?.dtype === undefined ? undefined : tfDTypeOfTf(entry.dtype)),
          shape: info?.shape ?? shapeOfProto(entry?.tensorShape),
        },
      ];
    });
  return { inputs: side(model.inputNodes, model.inputs, 'inputs'), outputs: side(model.outputNodes, model.outputs, 'outputs') };
}

export interface PartialSpec {
  readonly name: string;
  readonly dtype: string | undefined;
  readonly shape: readonly (number | null)[] | undefined;
}

interface TensorInfoLike {
  readonly dtype?: string;
  readonly shape?: number[];
}

interface GraphSignature {
  inputs?: Record<string, SignatureEntry>;
  outputs?: Record<string, SignatureEntry>;
}

interface SignatureEntry {
  name?: string;
  dtype?: string;
  tensorShape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  resourceId?: number | null;
}

/** TensorFlow's DT_* names as TF.js holds them (TF.js has no 64-bit or small integer tensors). */
function tfDTypeOfTf(dtype: string): string | undefined {
  switch (dtype) {
    case 'DT_FLOAT':
    case 'DT_HALF':
    case 'DT_DOUBLE':
    case 'DT_BFLOAT16':
      return 'float32';
    case 'DT_INT32':
    case 'DT_INT64':
    case 'DT_INT16':
    case 'DT_INT8':
    case 'DT_UINT8':
    case 'DT_UINT16':
      return 'int32';
    case 'DT_BOOL':
      return 'bool';
    case 'DT_STRING':
      return 'string';
    default:
      return undefined;
  }
}

function shapeOfProto(shape: SignatureEntry['tensorShape']): number[] | undefined {
  if (shape === undefined || shape.unknownRank === true) return undefined;
  return (shape.dim ?? []).map((d) => Number(d.size ?? 0));
}

const sluiceDTypes: Readonly<Record<string, DType>> = { float32: 'float32', int32: 'int32', bool: 'bool', string: 'string' };

/** A Sluice spec from a TF.js dtype and shape; a null or negative dimension is free (-1). */
export function spec(name: string, dtype: string, shape: readonly (number | null)[], kind: string): TensorSpec {
  const sluice = sluiceDTypes[dtype];
  if (sluice === undefined) throw new Error(`${kind} '${name}' has dtype ${dtype}, which Sluice tensors do not carry`);
  return Object.freeze({ name, dtype: sluice, shape: Object.freeze(shape.map((d) => (d === null || d < 0 ? -1 : d))) });
}

export function freeze(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): ModelMetadata {
  return Object.freeze({ inputs: Object.freeze([...inputs]), outputs: Object.freeze([...outputs]) });
}
