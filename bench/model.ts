/** The model both sides of the bench score with: recommender-a, built exactly as the example ships it. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRecommenderModel, recommenderModels } from '../examples/recommender/models/build-models.js';
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
