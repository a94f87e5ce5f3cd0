/**
 * The models the bench scores with, built exactly as the example ships them: recommender-a
 * (ONNX) for the raw onnxruntime and pipeline rows, and one recommender per executor (ONNX,
 * TensorFlow.js, PMML) for the per-executor rows. Every one takes the recommender's tensors
 * (`users`, `products` float32 [n,1]) and returns `predictions` [n,1].
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRecommenderModel, recommenderModels } from '../examples/recommender/models/build-models.js';
import { buildRecommenderPmml, recommenderPmmlDescription, recommenderPmmlName } from '../examples/recommender/models/build-pmml.js';
import { buildRecommenderTfjs, recommenderTfjsModel } from '../examples/recommender/models/build-tfjs.js';
import type { ModelDescriptor } from '../src/serving/descriptor.js';

export interface BenchModel {
  readonly bytes: Uint8Array;
  readonly descriptor: ModelDescriptor;
  /** A temporary folder holding the model file, for the model ingress. */
  readonly modelsDirectory: string;
  cleanup(): Promise<void>;
}

export async function prepareModel(): Promise<BenchModel> {
  const options = recommenderModels[0];
  if (!options) throw new Error('the recommender example defines no model');
  const bytes = buildRecommenderModel(options);
  const modelsDirectory = await mkdtemp(join(tmpdir(), 'sluice-bench-models-'));
  await writeFile(join(modelsDirectory, `${options.name}.onnx`), bytes);
  return {
    bytes,
    descriptor: { modelName: options.name, description: options.description, modelType: 'ONNX', modelBytes: Buffer.from(bytes), modelSourceLocation: null },
    modelsDirectory,
    cleanup: () => rm(modelsDirectory, { recursive: true, force: true }),
  };
}

/** The executors the per-executor rows measure, by the id the bench's `--only` uses. */
export const executorIds = ['onnx', 'tfjs', 'pmml'] as const;
export type ExecutorId = (typeof executorIds)[number];

export const executorLabels: Readonly<Record<ExecutorId, string>> = { onnx: 'ONNX', tfjs: 'TF.js', pmml: 'PMML' };

/**
 * The recommender model of an executor, as a descriptor carrying its bytes: recommender-a
 * (ONNX, `buildRecommenderModel`), recommender-tfjs (`buildRecommenderTfjs`, a TF.js archive)
 * and recommender-pmml (`buildRecommenderPmml`, the PMML document).
 */
export async function executorModel(executor: ExecutorId, onnx: BenchModel): Promise<ModelDescriptor> {
  switch (executor) {
    case 'onnx':
      return onnx.descriptor;
    case 'tfjs':
      // Built on the backend the executor serves on (`tf.ready()` picks it once it is registered),
      // as build-tfjs.ts does: TF.js's pure-JS backend would print its "install tfjs-node" advice.
      await import('@tensorflow/tfjs-backend-wasm');
      return {
        modelName: recommenderTfjsModel.name,
        description: recommenderTfjsModel.description,
        modelType: 'TENSORFLOWJS',
        modelBytes: Buffer.from(await buildRecommenderTfjs()),
        modelSourceLocation: null,
      };
    case 'pmml':
      return {
        modelName: recommenderPmmlName,
        description: recommenderPmmlDescription,
        modelType: 'PMML',
        modelBytes: Buffer.from(buildRecommenderPmml()),
        modelSourceLocation: null,
      };
  }
}
