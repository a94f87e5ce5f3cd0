/**
 * An inference graph served under one model name: a version folder holding `graph.conf`
 * (./graph-file.ts) instead of a model file. Its nodes call the repository's models (the newest
 * served version of each, through that version's batcher), transform tensors on the way in or
 * out, combine several models' answers, or route each request to one child.
 *
 * Building the graph checks it against the repository, reporting every problem at once: a
 * model node must name a model that serves (not another graph), transformers must give their
 * child exactly the tensors it takes, combined and routed children must answer the same tensors.
 * The graph's signature follows: its inputs are what the root needs, its outputs what it gives.
 */
import { isSluiceError, messageOf, SluiceError, type ErrorCode } from '../../core/errors.js';
import type { ModelMetadata } from '../../serving/executor.js';
import { formatShape, type NamedTensors, type Tensor, type TensorSpec } from '../../serving/tensor.js';
import type { Feedback, Servable, ServableContext, ServableKind, ServeOptions } from '../servable.js';
import { combine } from './combine.js';
import { childrenOf, graphError, readGraphFile, type GraphDefinition, type GraphNode } from './graph-file.js';
import { epsilonGreedyRouter, RouteMemory, weightedRouter, type Router } from './routers.js';
import { applySteps, inputsBefore, outputsAfter } from './steps.js';

export const graphPlatform = 'inference_graph';

/** Routed requests remembered for feedback, per graph version. */
const rememberedRoutes = 100_000;

export const graphKind: ServableKind = {
  fileName: 'graph.conf',
  platform: graphPlatform,
  usesModels: true,
  async load(path, modelName, context) {
    return buildGraph(await readGraphFile(path), modelName, context);
  },
};

/** Errors a model node passes on as they are: the model is busy or going, and a retry may succeed. */
const transient: ReadonlySet<ErrorCode> = new Set(['SLUICE_ERR_MODEL_NOT_READY', 'SLUICE_ERR_QUEUE_FULL', 'SLUICE_ERR_SHUTDOWN']);

interface Built {
  readonly requires: readonly TensorSpec[];
  readonly produces: readonly TensorSpec[];
  /** Scores `inputs`; routers write the child they chose into `routes`. */
  run(inputs: NamedTensors, routes: Record<string, number>): Promise<NamedTensors>;
}

interface RouterNode {
  readonly router: Router;
  readonly children: readonly string[];
}

export function buildGraph(definition: GraphDefinition, graphName: string, context: ServableContext): Servable {
  const problems: string[] = [];
  const built = new Map<string, Built>();
  const routers = new Map<string, RouterNode>();

  const failed = (node: GraphNode, err: unknown): SluiceError => {
    if (isSluiceError(err) && transient.has(err.code)) return err;
    const what = node.type === 'model' ? `node '${node.name}' (model ${node.model})` : `node '${node.name}'`;
    return new SluiceError('SLUICE_ERR_INFERENCE_FAILED', { modelName: graphName, message: `${what}: ${messageOf(err)}` }, { cause: err });
  };

  const build = (name: string): Built => {
    const done = built.get(name);
    if (done) return done;
    const node = definition.nodes.get(name) as GraphNode;
    const problem = (message: string) => problems.push(`node '${node.name}' (${node.where}): ${message}`);
    const children = childrenOf(node).map(build);
    let result: Built;
    switch (node.type) {
      case 'model': {
        const signature = modelSignature(node.model, context, problem);
        const takes = signature.inputs.map((spec) => spec.name);
        result = {
          requires: signature.inputs,
          produces: signature.outputs,
          run: async (inputs) => {
            const feeds: Record<string, Tensor> = {};
            for (const input of takes) feeds[input] = inputs[input] as Tensor;
            try {
              return await context.models.infer(node.model, feeds);
            } catch (err) {
              throw failed(node, err);
            }
          },
        };
        break;
      }
      case 'transformer': {
        const [child] = children as [Built];
        result = {
          requires: inputsBefore(node.steps, child.requires, `child '${node.children[0]}'`, problem),
          produces: child.produces,
          run: (inputs, routes) =>
            child.run(
              guarded(node, () => applySteps(node.steps, inputs)),
              routes,
            ),
        };
        break;
      }
      case 'output-transformer': {
        const [child] = children as [Built];
        result = {
          requires: child.requires,
          produces: outputsAfter(node.steps, child.produces, `child '${node.children[0]}'`, problem),
          run: async (inputs, routes) => {
            const outputs = await child.run(inputs, routes);
            return guarded(node, () => applySteps(node.steps, outputs));
          },
        };
        break;
      }
      case 'combiner': {
        const produces = sameOutputs(node, children, problem);
        if (node.method === 'average') {
          for (const spec of produces) {
            if (spec.dtype !== 'float32' && spec.dtype !== 'float64') problem(`average needs float outputs; '${spec.name}' is ${spec.dtype} (use vote)`);
          }
        }
        result = {
          requires: allInputs(node, children, problem),
          produces,
          run: async (inputs, routes) => {
            const parts = await Promise.all(children.map((child) => child.run(inputs, routes)));
            return guarded(node, () => combine(node.method, parts));
          },
        };
        break;
      }
      case 'router': {
        const router =
          node.method === 'weighted' ? weightedRouter(node.weights, node.seed) : epsilonGreedyRouter(node.children.length, node.epsilon, node.seed);
        routers.set(node.name, { router, children: node.children });
        result = {
          requires: allInputs(node, children, problem),
          produces: sameOutputs(node, children, problem),
          run: (inputs, routes) => {
            const chosen = router.choose();
            routes[node.name] = chosen;
            context.routes.routed(graphName, node.name, node.children[chosen] as string);
            return (children[chosen] as Built).run(inputs, routes);
          },
        };
        break;
      }
    }
    built.set(name, result);
    return result;
  };

  const root = build(definition.root);
  if (problems.length > 0) throw graphError(definition.file, problems);
  return new InferenceGraph(graphName, { inputs: root.requires, outputs: root.produces }, root, routers, context);
}

/** The signature of the model a node names, or a problem saying why it cannot be called. */
function modelSignature(model: string, context: ServableContext, problem: (message: string) => void): ModelMetadata {
  const none: ModelMetadata = { inputs: [], outputs: [] };
  try {
    const { signature, platform } = context.models.describe(model);
    if (platform !== graphPlatform) return signature;
    problem(`'${model}' is an inference graph; a model node names a model (graphs do not nest)`);
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_ERR_MODEL_NOT_FOUND')) problem(`model '${model}' is not in the repository (models: ${context.models.names().join(', ')})`);
    else problem(`model '${model}' cannot be called: ${messageOf(err)}`);
  }
  return none;
}

/** A step or combination that throws fails the request, naming the node. */
function guarded<T>(node: GraphNode, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new Error(`node '${node.name}': ${messageOf(err)}`, { cause: err });
  }
}

function specText(spec: TensorSpec): string {
  return `${spec.name}:${spec.dtype}${formatShape(spec.shape)}`;
}

/** Every child gets the whole request: the node takes what any child takes, and two children must not disagree on a tensor. */
function allInputs(node: GraphNode, children: readonly Built[], problem: (message: string) => void): TensorSpec[] {
  const specs = new Map<string, TensorSpec>();
  children.forEach((child, i) => {
    for (const spec of child.requires) {
      const known = specs.get(spec.name);
      if (!known) specs.set(spec.name, spec);
      else if (specText(known) !== specText(spec)) {
        problem(`children disagree on input '${spec.name}': one takes ${specText(known)}, '${childrenOf(node)[i]}' takes ${specText(spec)}`);
      }
    }
  });
  return [...specs.values()];
}

/** The outputs every child gives alike: one answer stands for all (router) or they combine (combiner). */
function sameOutputs(node: GraphNode, children: readonly Built[], problem: (message: string) => void): readonly TensorSpec[] {
  const names = childrenOf(node);
  const text = (specs: readonly TensorSpec[]) => `(${specs.map(specText).join(', ')})`;
  const [first] = children;
  if (!first) return [];
  const expected = text([...first.produces].sort((a, b) => a.name.localeCompare(b.name)));
  children.forEach((child, i) => {
    const given = text([...child.produces].sort((a, b) => a.name.localeCompare(b.name)));
    if (i > 0 && given !== expected) problem(`children give different outputs: '${names[0]}' ${expected}, '${names[i]}' ${given}`);
  });
  return first.produces;
}

class InferenceGraph implements Servable {
  readonly platform = graphPlatform;
  readonly batchesInside = true;
  readonly routes: boolean;
  private readonly memory = new RouteMemory(rememberedRoutes);

  constructor(
    private readonly name: string,
    private readonly signature: ModelMetadata,
    private readonly root: Built,
    private readonly routers: ReadonlyMap<string, RouterNode>,
    private readonly context: ServableContext,
  ) {
    this.routes = routers.size > 0;
  }

  metadata(): ModelMetadata {
    return this.signature;
  }

  async infer(inputs: NamedTensors, options: ServeOptions = {}): Promise<NamedTensors> {
    const routes: Record<string, number> = {};
    try {
      return await this.root.run(inputs, routes);
    } catch (err) {
      if (isSluiceError(err)) throw err;
      throw new SluiceError('SLUICE_ERR_INFERENCE_FAILED', { modelName: this.name, message: messageOf(err) }, { cause: err });
    } finally {
      // Remembered even when a node failed: a failed request may deserve its (negative) reward too.
      if (options.requestId !== undefined && Object.keys(routes).length > 0) this.memory.remember(options.requestId, routes);
    }
  }

  routing(requestId: string): Readonly<Record<string, number>> {
    return this.memory.peek(requestId) ?? {};
  }

  feedback(feedback: Feedback): Readonly<Record<string, number>> {
    if (this.routers.size === 0) throw this.invalid('it has no router: feedback has nothing to credit');
    if (!Number.isFinite(feedback.reward)) throw this.invalid(`the reward must be a finite number, got ${feedback.reward}`);
    const routes = feedback.routing ?? this.remembered(feedback.requestId);
    const entries = Object.entries(routes);
    if (entries.length === 0) throw this.invalid('the feedback names no route: give the request id, or the routing of its answer');
    for (const [router, child] of entries) {
      const node = this.routers.get(router);
      if (!node) throw this.invalid(`it has no router '${router}' (routers: ${[...this.routers.keys()].join(', ')})`);
      if (!Number.isSafeInteger(child) || child < 0 || child >= node.children.length) {
        throw this.invalid(`router '${router}' has no child ${child}: it routes to 0..${node.children.length - 1} (${node.children.join(', ')})`);
      }
    }
    for (const [router, child] of entries) {
      const node = this.routers.get(router) as RouterNode;
      node.router.credit(child, feedback.reward);
      this.context.routes.credited(this.name, router, node.children[child] as string, feedback.reward);
    }
    return routes;
  }

  async unload(): Promise<void> {
    // The models it calls belong to the repository; nothing of its own to release.
  }

  private remembered(requestId: string | undefined): Readonly<Record<string, number>> {
    if (requestId === undefined) throw this.invalid('the feedback names no request: give its id');
    const routes = this.memory.take(requestId);
    if (!routes) {
      throw new SluiceError('SLUICE_ERR_REQUEST_NOT_FOUND', {
        modelName: this.name,
        id: requestId,
        message: `it was not routed by this version, was credited already, or is older than the last ${this.memory.limit} routed requests`,
      });
    }
    return routes;
  }

  private invalid(message: string): SluiceError<'SLUICE_ERR_INVALID_ARGUMENT'> {
    return new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `model ${this.name}: ${message}` });
  }
}
