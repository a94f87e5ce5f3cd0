/**
 * Nothing the TF.js executor does may leave tensors or variables behind in the TF.js engine:
 * not scoring, not unloading, not a failed load or a failed call, not hundreds of model swaps.
 */
import { strFromU8, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRecommenderTfjs } from '../../../examples/recommender/models/build-tfjs.js';
import type { Executor } from '../../../src/serving/executor.js';
import { createTfjsExecutor, packTfjsArchive, type TfjsBackend } from '../../../src/serving/executors/tfjs/index.js';
import { tensor, type NamedTensors } from '../../../src/serving/tensor.js';
import { denseArchive, descriptor, dynamicGraphArtifacts, engineCounts, graphArchive, graphArtifacts, zipOf } from './fixtures.js';

const recommenderBatch = (n: number): NamedTensors => ({
  users: tensor(
    'float32',
    [n, 1],
    Float32Array.from({ length: n }, (_, i) => (i * 7919) % 1000),
  ),
  products: tensor(
    'float32',
    [n, 1],
    Float32Array.from({ length: n }, (_, i) => (i * 13) % 300),
  ),
});

describe.each<TfjsBackend>(['wasm', 'cpu'])('TF.js executor memory on the %s backend', (backend) => {
  let executor: Executor;
  let recommender: Uint8Array;
  const models: Record<string, () => { bytes: Uint8Array; batch: NamedTensors }> = {};
  beforeAll(async () => {
    executor = createTfjsExecutor({ backend });
    recommender = await buildRecommenderTfjs();
    models['layers (recommender)'] = () => ({ bytes: recommender, batch: recommenderBatch(64) });
    models['graph'] = () => ({ bytes: graphArchive({ signature: true }), batch: { features: tensor('float32', [2, 3], new Float32Array(6).fill(1)) } });
    models['graph without signature (probed)'] = () => ({
      bytes: graphArchive({ signature: false }),
      batch: { x: tensor('float32', [2, 3], new Float32Array(6)) },
    });
    models['graph with dynamic ops'] = () => ({
      bytes: packTfjsArchive(dynamicGraphArtifacts()),
      batch: { values: tensor('float32', [4], Float32Array.from([1, -1, 2, -2])) },
    });
    // Initialise the backend (its first use allocates for good) before any baseline is taken.
    const warm = await executor.load(descriptor('warm', recommender));
    await warm.infer(recommenderBatch(4));
    await warm.unload();
  });

  it('returns to the baseline after infer and after unload', async () => {
    for (const [kind, make] of Object.entries(models)) {
      const { bytes, batch } = make();
      const baseline = engineCounts();
      const model = await executor.load(descriptor(kind, bytes));
      const loaded = engineCounts();
      expect(loaded.tensors, kind).toBeGreaterThan(baseline.tensors); // the weights
      for (let i = 0; i < 3; i++) {
        await model.infer(batch);
        expect(engineCounts(), `${kind}: after infer`).toEqual(loaded);
      }
      await model.unload();
      expect(engineCounts(), `${kind}: after unload`).toEqual(baseline);
    }
  });

  it('stays flat across 200 load / infer / unload cycles', async () => {
    for (const [kind, make] of Object.entries(models)) {
      const { bytes, batch } = make();
      const baseline = engineCounts();
      for (let i = 0; i < 200; i++) {
        const model = await executor.load(descriptor(`${kind}-${i}`, bytes));
        await model.infer(batch);
        await model.unload();
      }
      expect(engineCounts(), kind).toEqual(baseline);
    }
  });

  it('leaves nothing behind when a call fails', async () => {
    const model = await executor.load(descriptor('recommender', recommender));
    const loaded = engineCounts();
    const outOfRange = { users: tensor('float32', [2, 1], Float32Array.from([1, 5000])), products: tensor('float32', [2, 1], Float32Array.from([1, 2])) };
    for (let i = 0; i < 10; i++) await expect(model.infer(outOfRange)).rejects.toThrow(/5000/);
    expect(engineCounts()).toEqual(loaded);
    await model.unload();
  });

  it('leaves nothing behind when a load fails half way', async () => {
    const dense = unzipSync(await denseArchive());
    const json = strFromU8(dense['model.json'] as Uint8Array);
    const weights = dense['weights.bin'] as Uint8Array;
    const unknownLayer = zipOf({ 'model.json': json.replace('"class_name":"Dense"', '"class_name":"NoSuchLayer"'), 'weights.bin': weights });
    // Fails while connecting the layers, after the embeddings made their variables: the Dot
    // layer gets vectors of 16 and 8.
    const recommenderFiles = unzipSync(recommender);
    const topology = JSON.parse(strFromU8(recommenderFiles['model.json'] as Uint8Array)) as {
      modelTopology: { config: { layers: { name: string; config: { output_dim?: number } }[] } };
    };
    const productEmbedding = topology.modelTopology.config.layers.find((l) => l.name === 'product_embedding');
    expect(productEmbedding?.config.output_dim).toBe(16);
    if (productEmbedding) productEmbedding.config.output_dim = 8;
    const incompatible = zipOf({ 'model.json': JSON.stringify(topology), 'weights.bin': recommenderFiles['weights.bin'] as Uint8Array });
    // Fails after every variable exists and the weights are decoded.
    const parsed = JSON.parse(json) as { weightsManifest: { weights: { shape: number[] }[] }[] };
    const kernel = parsed.weightsManifest[0]?.weights[0];
    if (kernel) kernel.shape = [2, 3];
    const misfit = zipOf({ 'model.json': JSON.stringify(parsed), 'weights.bin': weights });
    // Fails after the graph's weights are decoded.
    const graph = graphArtifacts({ signature: true });
    const node = (graph.modelTopology as { node: { op: string }[] }).node[4];
    if (node) node.op = 'NoSuchOp';
    const badOp = packTfjsArchive(graph);

    const baseline = engineCounts();
    for (let i = 0; i < 20; i++) {
      for (const bytes of [unknownLayer, incompatible, misfit, badOp, weights]) {
        await expect(executor.load(descriptor('broken', bytes))).rejects.toMatchObject({ code: 'SLUICE_ERR_MODEL_INVALID' });
      }
    }
    expect(engineCounts()).toEqual(baseline);
  });
});
