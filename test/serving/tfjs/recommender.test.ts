import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommenderAdapter } from '../../../examples/recommender/adapter.js';
import { productCount, recommenderModels, recommenderWeights, scoreReference, userCount } from '../../../examples/recommender/models/build-models.js';
import { buildRecommenderTfjs, recommenderTfjsModel, writeRecommenderTfjs } from '../../../examples/recommender/models/build-tfjs.js';
import type { LoadedModel } from '../../../src/serving/executor.js';
import { tfjsExecutor, unpackTfjsArchive } from '../../../src/serving/executors/tfjs/index.js';
import { tensor } from '../../../src/serving/tensor.js';
import { descriptor, sigmoid } from './fixtures.js';

/** Float32 sums of 16 products against float64 by hand. */
const tolerance = 1e-5;

/** The TF.js recommender's score, computed independently from the weights it was built from. */
function expectedScore(user: number, product: number): number {
  const weights = recommenderWeights(recommenderTfjsModel);
  const d = weights.dimensions;
  let dot = 0;
  for (let j = 0; j < d; j++) dot += (weights.users[user * d + j] as number) * (weights.products[product * d + j] as number);
  return sigmoid(recommenderTfjsModel.temperature * (dot + (weights.productBias[product] as number)) + recommenderTfjsModel.shift);
}

/** A deterministic batch of (user, product) pairs covering the whole id ranges. */
function pairs(n: number): { users: number[]; products: number[] } {
  return {
    users: Array.from({ length: n }, (_, i) => (i * 7919) % userCount),
    products: Array.from({ length: n }, (_, i) => (i * 104729 + 13) % productCount),
  };
}

describe('the TF.js recommender model', () => {
  let archive: Uint8Array;
  let model: LoadedModel;
  beforeAll(async () => {
    archive = await buildRecommenderTfjs();
    model = await tfjsExecutor.load(descriptor(recommenderTfjsModel.name, archive));
  });
  afterAll(async () => {
    await model.unload();
  });

  it('builds the same bytes from the same options', async () => {
    expect(await buildRecommenderTfjs()).toEqual(archive);
  });

  it('is a layers model archive carrying its construction in userDefinedMetadata', () => {
    const artifacts = unpackTfjsArchive(archive);
    expect(artifacts.format).toBe('layers-model');
    expect(artifacts.userDefinedMetadata).toEqual({
      sluice: { name: 'recommender-tfjs', seed: 3, dimensions: 16, clusters: 5, temperature: 1.5, shift: -0.25 },
    });
  });

  it('fits the recommender adapter', () => {
    expect(model.metadata()).toEqual({
      inputs: [
        { name: 'users', dtype: 'float32', shape: [-1, 1] },
        { name: 'products', dtype: 'float32', shape: [-1, 1] },
      ],
      outputs: [{ name: 'predictions', dtype: 'float32', shape: [-1, 1] }],
    });
    expect(recommenderAdapter.check(model.metadata())).toEqual([]);
  });

  it('scores a batch of 512 to the scores computed from its weights (tolerance 1e-5), all in (0,1)', async () => {
    const { users, products } = pairs(512);
    const out = await model.infer({
      users: tensor('float32', [512, 1], Float32Array.from(users)),
      products: tensor('float32', [512, 1], Float32Array.from(products)),
    });
    expect(out.predictions?.shape).toEqual([512, 1]);
    const scores = out.predictions?.data as Float32Array;
    let worst = 0;
    scores.forEach((score, i) => {
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThan(1);
      worst = Math.max(worst, Math.abs(score - expectedScore(users[i] as number, products[i] as number)));
    });
    expect(worst).toBeLessThan(tolerance);
    // The scores spread: the taste clusters separate good matches from poor ones.
    expect(Math.min(...scores)).toBeLessThan(0.2);
    expect(Math.max(...scores)).toBeGreaterThan(0.8);
  });

  it('scores visibly differently from the ONNX recommenders', async () => {
    const { users, products } = pairs(256);
    for (const onnx of recommenderModels) {
      const onnxWeights = recommenderWeights(onnx);
      const meanDifference =
        users.reduce(
          (sum, user, i) => sum + Math.abs(expectedScore(user, products[i] as number) - scoreReference(onnxWeights, user, products[i] as number)),
          0,
        ) / users.length;
      expect(meanDifference).toBeGreaterThan(0.1);
    }
  });

  it('serves records through the recommender adapter', async () => {
    const records = [
      { user: 7, products: [1, 2, 3], datatype: 'recommender' },
      { user: 999, products: [299], datatype: 'recommender' },
    ];
    const outputs = recommenderAdapter.fromOutputs(records, await model.infer(recommenderAdapter.toInputs(records)));
    expect(outputs.map((o) => o.products)).toEqual([['1', '2', '3'], ['299']]);
    const expected = [expectedScore(7, 1), expectedScore(7, 2), expectedScore(7, 3), expectedScore(999, 299)];
    expect(outputs.flatMap((o) => o.probabilities)).toEqual(expected.map((p) => expect.closeTo(p, 5)));
  });

  it('with other input names, is refused by the adapter check', async () => {
    const misnamed = await tfjsExecutor.load(
      descriptor('misnamed', await buildRecommenderTfjs({ ...recommenderTfjsModel, inputNames: ['user_ids', 'product_ids'] })),
    );
    expect(recommenderAdapter.check(misnamed.metadata())).toEqual([
      "the model has no input 'users' (its inputs: user_ids, product_ids)",
      "the model has no input 'products' (its inputs: user_ids, product_ids)",
    ]);
    await misnamed.unload();
  });

  describe('written to a folder', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sluice-tfjs-recommender-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('gives the model and a description sidecar for the model ingress', async () => {
      const written = await writeRecommenderTfjs(join(dir, 'api'));
      expect(written).toEqual([join(dir, 'api', 'recommender-tfjs.tfjs'), join(dir, 'api', 'recommender-tfjs.json')]);
      expect(await readFile(written[0] as string)).toEqual(Buffer.from(archive));
      const sidecar = JSON.parse(await readFile(written[1] as string, 'utf8')) as { description: string };
      expect(sidecar.description).toMatch(/^Recommender TF\.js: /);
    });

    it('from the command line', async () => {
      const script = fileURLToPath(new URL('../../../examples/recommender/models/build-tfjs.ts', import.meta.url));
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, join(dir, 'cli')]);
      expect(stdout).toContain(`wrote ${join(dir, 'cli', 'recommender-tfjs.tfjs')}`);
      expect((await readdir(join(dir, 'cli'))).sort()).toEqual(['recommender-tfjs.json', 'recommender-tfjs.tfjs']);
      expect(await readFile(join(dir, 'cli', 'recommender-tfjs.tfjs'))).toEqual(Buffer.from(archive));
    });
  });
});
