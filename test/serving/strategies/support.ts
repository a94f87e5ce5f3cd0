/**
 * What the validation-gate and strategy tests share: a recommender model-serving streamlet with
 * its own executor registry, a third recommender model that disagrees with the shipped two, a
 * model that fails on most records, a slow model, and each model's own answers computed
 * directly with onnxruntime (the reference the streamlet's answers are checked against).
 */
import { recommenderAdapter } from '../../../examples/recommender/adapter.js';
import { buildRecommenderModel } from '../../../examples/recommender/models/build-models.js';
import {
  RecommenderRecordSchema,
  RecommenderResultSchema,
  type RecommenderRecord,
  type RecommenderResult,
  type RecommenderServingOutput,
} from '../../../examples/recommender/schemas.js';
import type { Logger } from '../../../src/core/log.js';
import { outlet } from '../../../src/core/streamlet.js';
import type { ModelDescriptor, ModelType } from '../../../src/serving/descriptor.js';
import type { Executor } from '../../../src/serving/executor.js';
import { onnxExecutor } from '../../../src/serving/executors/onnx.js';
import { modelServing, type ModelServingOptions } from '../../../src/serving/model-serving.js';
import { encodeModel, float32Initializer, intAttr, node, onnxElementType, valueInfo } from '../../../src/serving/onnx-builder.js';
import { ExecutorRegistry } from '../../../src/serving/registry.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { recommenderDescriptor, tempDir } from '../../support/recommender.js';

export type RecommenderOptions = Pick<
  ModelServingOptions<RecommenderRecord, RecommenderServingOutput, RecommenderResult, {}>,
  'predictions' | 'validation' | 'recordKey'
>;

/** A model type whose executor is ONNX answering late: a slow model (a remote server's latency) beside fast ones. */
export const SLOW: ModelType = 'SELDON';

/** Holds slow models' answers until released: "slower than anything else" without a timing bet. */
export class Latch {
  private open!: () => void;
  readonly opened = new Promise<void>((resolve) => {
    this.open = resolve;
  });

  release(): void {
    this.open();
  }
}

/** ONNX under the {@link SLOW} model type, answering once `latch` is released. */
export function slowExecutor(latch: Latch): Executor {
  return {
    modelType: SLOW,
    async load(descriptor, options) {
      const model = await onnxExecutor.load({ ...descriptor, modelType: 'ONNX' }, options);
      return {
        metadata: () => model.metadata(),
        async infer(inputs, callOptions) {
          await latch.opened;
          return model.infer(inputs, callOptions);
        },
        unload: () => model.unload(),
      };
    },
  };
}

/** The recommender's model-serving streamlet with `options` (predictions, validation...), ONNX, and a slow executor held by `latch`. */
export function recommenderServing(options: RecommenderOptions = {}, latch = new Latch()) {
  return modelServing({
    description: 'recommender serving under test',
    data: RecommenderRecordSchema,
    result: outlet(RecommenderResultSchema, (r) => String(r.inputRecord.user)),
    adapter: recommenderAdapter,
    executors: new ExecutorRegistry().register(onnxExecutor).register(slowExecutor(latch)).seal(),
    ...options,
  });
}

export type ModelName = 'recommender-a' | 'recommender-b' | 'recommender-c';

/** recommender-a and -b as shipped; recommender-c, a third seed with its own taste clusters. */
export function model(name: ModelName, type: ModelType = 'ONNX'): ModelDescriptor {
  if (name !== 'recommender-c') return { ...recommenderDescriptor(name), modelType: type };
  const bytes = buildRecommenderModel({ name, seed: 3, dimensions: 8, clusters: 3 });
  return { modelName: name, description: 'Recommender C (seed 3)', modelType: type, modelBytes: Buffer.from(bytes), modelSourceLocation: null };
}

/**
 * A model with the recommender's signature whose product table holds 10 products: any record
 * with a product id of 10 or more fails inside onnxruntime (Gather index out of range).
 */
export function tenProductModel(name: string): ModelDescriptor {
  const bytes = encodeModel({
    name,
    inputs: [valueInfo('users', 'float32', ['batch', 1]), valueInfo('products', 'float32', ['batch', 1])],
    outputs: [valueInfo('predictions', 'float32', ['batch', 1])],
    initializers: [
      float32Initializer(
        'bias',
        [10],
        Array.from({ length: 10 }, (_, i) => i / 10 - 0.5),
      ),
    ],
    nodes: [
      node('Cast', ['products'], ['ids'], [intAttr('to', onnxElementType.int64)]),
      node('Gather', ['bias', 'ids'], ['logits'], [intAttr('axis', 0)]),
      node('Sigmoid', ['logits'], ['predictions']),
    ],
  });
  return { modelName: name, description: 'ten products only', modelType: 'ONNX', modelBytes: Buffer.from(bytes), modelSourceLocation: null };
}

/** Each record's output from the model itself, through the same adapter: what a model-serving answer must equal. */
export async function directOutputs(descriptor: ModelDescriptor, records: readonly RecommenderRecord[]): Promise<RecommenderServingOutput[]> {
  const loaded = await onnxExecutor.load({ ...descriptor, modelType: 'ONNX' });
  try {
    return recommenderAdapter.fromOutputs(records, await loaded.infer(recommenderAdapter.toInputs(records)));
  } finally {
    await loaded.unload();
  }
}

/** Record `i` with one product, so each model gives one score and three models always have a majority. */
export function singleProductRecord(i: number): RecommenderRecord {
  return { user: (i * 37) % 1000, products: [(i * 101) % 300], datatype: `one-${i}` };
}

const harnesses: StreamletHarness[] = [];

export async function startServing(
  config: Record<string, unknown>,
  options: { readonly serving?: ReturnType<typeof recommenderServing>; readonly volume?: string; readonly log?: Logger } = {},
): Promise<StreamletHarness> {
  const h = await startStreamlet(options.serving ?? recommenderServing(), {
    name: 'model-serving',
    volumes: { models: options.volume ?? tempDir() },
    config,
    log: options.log,
  });
  harnesses.push(h);
  return h;
}

/** Stops every harness started since the last call (afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
}

/** Sends an update and waits until model-serving has dealt with it (applied or rejected). */
export async function install(h: StreamletHarness, descriptor: ModelDescriptor): Promise<void> {
  const before = h.committed('in-1');
  await h.send('in-1', [descriptor]);
  await h.until(() => h.committed('in-1') > before);
}

export interface ServingStateView {
  readonly name: string | null;
  readonly usage: number;
  readonly failedRecords: number;
  readonly recordsWithoutModel: number;
  readonly updates: {
    readonly accepted: number;
    readonly rejected: number;
    readonly promoted: number;
    readonly lastRejected: readonly { readonly modelName: string; readonly reason: string }[];
  };
  readonly candidates?: readonly { readonly role: string; readonly name: string; readonly usage: number }[];
  readonly validation?: {
    readonly last: { readonly modelName: string; readonly passed: boolean; readonly measures: Record<string, number>; readonly records: number } | null;
  };
  readonly strategy?: Record<string, unknown> & { readonly name: string };
}

/** GET /state, once it is there: model-serving exposes it after restoring the persisted models. */
export async function servingState(h: StreamletHarness): Promise<ServingStateView> {
  let response = await fetch(`${h.url}/state`);
  for (let tries = 0; response.status === 404 && tries < 200; tries++) {
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 25));
    response = await fetch(`${h.url}/state`);
  }
  if (response.status !== 200) throw new Error(`GET /state answered ${response.status}`);
  return (await response.json()) as ServingStateView;
}
