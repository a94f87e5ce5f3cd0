import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecommenderModel, recommenderModels } from '../../../examples/recommender/models/build-models.js';
import { buildRecommenderTfjs } from '../../../examples/recommender/models/build-tfjs.js';
import { createTfjsExecutor, packTfjsArchive, tfjsExecutor, type TfjsBackend } from '../../../src/serving/executors/tfjs/index.js';
import type { LoadedModel } from '../../../src/serving/executor.js';
import { tensor } from '../../../src/serving/tensor.js';
import {
  V,
  affine,
  c,
  denseArchive,
  descriptor,
  dynamicGraphArtifacts,
  expectSluiceError,
  features,
  graphArchive,
  graphArtifacts,
  sequentialArchive,
  sigmoid,
  zipOf,
} from './fixtures.js';

/**
 * Float32 arithmetic against float64 by hand: a few units in the last place of values around 10.
 * Stated once, used for every known-output comparison.
 */
const tolerance = 1e-5;
const close = (expected: readonly number[]) => expected.map((v) => expect.closeTo(v, 5));

const rows = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
  [1, 2, 3],
  [-0.5, 4, 0.25],
] as const;

describe.each<TfjsBackend>(['wasm', 'cpu'])('TF.js executor on the %s backend', (backend) => {
  const executor = createTfjsExecutor({ backend });

  it('serves model type TENSORFLOWJS', () => {
    expect(executor.modelType).toBe('TENSORFLOWJS');
  });

  it('scores a layers model to W·x+b computed by hand (tolerance 1e-5), with both its outputs', async () => {
    const model = await executor.load(descriptor('dense', await denseArchive()));
    try {
      expect(model.metadata()).toEqual({
        inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 3] }],
        outputs: [
          { name: 'scores', dtype: 'float32', shape: [-1, 2] },
          { name: 'probability', dtype: 'float32', shape: [-1, 1] },
        ],
      });
      const out = await model.infer(features(rows));
      const expectedScores = rows.map((x) => affine(x));
      expect(out.scores?.shape).toEqual([rows.length, 2]);
      expect(out.scores?.dtype).toBe('float32');
      expect(Array.from(out.scores?.data as Float32Array)).toEqual(close(expectedScores.flat()));
      const expectedProbability = expectedScores.map(([s0, s1]) => sigmoid((s0 as number) * V[0] + (s1 as number) * V[1] + c));
      expect(out.probability?.shape).toEqual([rows.length, 1]);
      const probability = out.probability?.data as Float32Array;
      expectedProbability.forEach((p, i) => expect(Math.abs((probability[i] as number) - p)).toBeLessThan(tolerance));
    } finally {
      await model.unload();
    }
  });

  it('names a Sequential model by its layers: input <first layer>_input, output <last layer>', async () => {
    const model = await executor.load(descriptor('sequential', await sequentialArchive()));
    expect(model.metadata().inputs).toEqual([{ name: 'scores_input', dtype: 'float32', shape: [-1, 3] }]);
    const out = await model.infer({ scores_input: tensor('float32', [1, 3], Float32Array.from([1, 2, 3])) });
    expect(Array.from(out.scores?.data as Float32Array)).toEqual(close(affine([1, 2, 3])));
    await model.unload();
  });

  it('loads a graph model with a signature and scores it by hand (MatMul + BiasAdd)', async () => {
    const model = await executor.load(descriptor('graph', graphArchive({ signature: true })));
    try {
      expect(model.metadata()).toEqual({
        inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 3] }],
        outputs: [{ name: 'scores', dtype: 'float32', shape: [-1, 2] }],
      });
      const out = await model.infer(features(rows));
      expect(out.scores?.shape).toEqual([rows.length, 2]);
      expect(Array.from(out.scores?.data as Float32Array)).toEqual(close(rows.flatMap((x) => affine(x))));
    } finally {
      await model.unload();
    }
  });

  it('loads a graph model without a signature: node names, output signature read from a probe run', async () => {
    const model = await executor.load(descriptor('graph', graphArchive({ signature: false })));
    expect(model.metadata()).toEqual({
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
      outputs: [{ name: 'Identity', dtype: 'float32', shape: [-1, 2] }],
    });
    const out = await model.infer({ x: tensor('float32', [1, 3], Float32Array.from([1, 2, 3])) });
    expect(Array.from(out.Identity?.data as Float32Array)).toEqual(close(affine([1, 2, 3])));
    await model.unload();
  });

  it('runs a graph with dynamic ops through executeAsync', async () => {
    const model = await executor.load(descriptor('dynamic', packTfjsArchive(dynamicGraphArtifacts())));
    expect(model.metadata()).toEqual({
      inputs: [{ name: 'values', dtype: 'float32', shape: [-1] }],
      outputs: [{ name: 'positions', dtype: 'int32', shape: [-1, 1] }],
    });
    for (let i = 0; i < 2; i++) {
      const out = await model.infer({ values: tensor('float32', [5], Float32Array.from([-1, 2, 0, 3, 0.5])) });
      expect(out.positions).toEqual({ dtype: 'int32', shape: [3, 1], data: Int32Array.from([1, 3, 4]) });
    }
    await model.unload();
  });

  it('scores many batches at once, each to its own result', async () => {
    const model = await executor.load(descriptor('dense', await denseArchive()));
    const results = await Promise.all(rows.map((x) => model.infer(features([x]))));
    results.forEach((out, i) => expect(Array.from(out.scores?.data as Float32Array)).toEqual(close(affine(rows[i] as readonly number[]))));
    await model.unload();
  });

  it('answers zero rows with zero rows', async () => {
    const model = await executor.load(descriptor('dense', await denseArchive()));
    const out = await model.infer(features([]));
    expect(out.scores).toEqual({ dtype: 'float32', shape: [0, 2], data: new Float32Array(0) });
    expect(out.probability?.shape).toEqual([0, 1]);
    await model.unload();
  });
});

describe('TF.js executor', () => {
  it('is the default executor, on the wasm backend', () => {
    expect(tfjsExecutor.modelType).toBe('TENSORFLOWJS');
  });

  it('keeps two executors on different backends in one process correct', async () => {
    const onWasm = await createTfjsExecutor({ backend: 'wasm' }).load(descriptor('a', await denseArchive()));
    const onCpu = await createTfjsExecutor({ backend: 'cpu' }).load(descriptor('b', graphArchive({ signature: true })));
    for (let i = 0; i < 3; i++) {
      const [a, b] = await Promise.all([onWasm.infer(features(rows)), onCpu.infer(features(rows))]);
      expect(Array.from(a.scores?.data as Float32Array)).toEqual(close(rows.flatMap((x) => affine(x))));
      expect(Array.from(b.scores?.data as Float32Array)).toEqual(close(rows.flatMap((x) => affine(x))));
    }
    await onWasm.unload();
    await onCpu.unload();
  });

  describe('scoring a batch it cannot take', () => {
    let model: LoadedModel;
    beforeAll(async () => {
      model = await tfjsExecutor.load(descriptor('dense', await denseArchive()));
    });
    afterAll(async () => {
      await model.unload();
    });

    it('names a missing input', async () => {
      await expect(model.infer({ x: tensor('float32', [1, 3], new Float32Array(3)) })).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', "model dense failed: missing input 'features'", "the batch has 'x'"),
      );
    });

    it('names a wrong dtype or shape', async () => {
      await expect(model.infer({ features: tensor('float64', [1, 3], new Float64Array(3)) })).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', "input 'features' is float64 but the model expects float32"),
      );
      await expect(model.infer({ features: tensor('float32', [1, 4], new Float32Array(4)) })).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', "input 'features' has shape [1,4] but the model expects [?,3]"),
      );
    });

    it('passes on what TF.js says when the model itself fails', async () => {
      const recommender = await tfjsExecutor.load(descriptor('recommender', await buildRecommenderTfjs()));
      const ids = (values: number[]) => tensor('float32', [values.length, 1], Float32Array.from(values));
      await expect(recommender.infer({ users: ids([5000]), products: ids([1]) })).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', 'inference with model recommender failed', '5000'),
      );
      await recommender.unload();
    });

    it('refuses to score after unload', async () => {
      const other = await tfjsExecutor.load(descriptor('gone', await denseArchive()));
      await other.unload();
      await expect(other.infer(features([[1, 2, 3]]))).rejects.toEqual(expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', 'has been unloaded'));
    });
  });

  describe('rejects a model it cannot load, saying why', () => {
    it('corrupt bytes', async () => {
      await expect(tfjsExecutor.load(descriptor('junk', new TextEncoder().encode('not a model, only text bytes here')))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'model junk cannot be loaded', 'not a ZIP archive'),
      );
      const archive = await denseArchive();
      await expect(tfjsExecutor.load(descriptor('cut', archive.subarray(0, archive.length / 2)))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'not a ZIP archive'),
      );
    });

    it('a model of another format (ONNX bytes)', async () => {
      const onnx = buildRecommenderModel(recommenderModels[0] ?? { name: 'a', seed: 1 });
      await expect(tfjsExecutor.load(descriptor('onnx', onnx))).rejects.toEqual(expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'not a ZIP archive'));
    });

    it('a model.json that is neither a layers nor a graph model', async () => {
      const bytes = zipOf({ 'model.json': JSON.stringify({ format: 'saved-model', modelTopology: { meta_graphs: [] } }) });
      await expect(tfjsExecutor.load(descriptor('other', bytes))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'TF.js cannot build the model', 'not a TF.js layers or graph model'),
      );
    });

    it('missing weights', async () => {
      const entries = unzipSync(await denseArchive());
      const bytes = zipOf({ 'model.json': entries['model.json'] as Uint8Array });
      await expect(tfjsExecutor.load(descriptor('noweights', bytes))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', "weight file 'weights.bin' named by the weightsManifest is missing from the archive"),
      );
    });

    it('weights that do not fit the topology', async () => {
      const entries = unzipSync(await denseArchive());
      const json = JSON.parse(strFromU8(entries['model.json'] as Uint8Array)) as { weightsManifest: { weights: { shape: number[] }[] }[] };
      const kernel = json.weightsManifest[0]?.weights[0];
      if (kernel) kernel.shape = [2, 3]; // same byte count, wrong shape
      const bytes = zipOf({ 'model.json': JSON.stringify(json), 'weights.bin': entries['weights.bin'] as Uint8Array });
      await expect(tfjsExecutor.load(descriptor('misfit', bytes))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'TF.js cannot build the model', 'hape'),
      );
    });

    it('an unknown layer class', async () => {
      const entries = unzipSync(await denseArchive());
      const text = strFromU8(entries['model.json'] as Uint8Array).replace('"class_name":"Dense"', '"class_name":"NoSuchLayer"');
      const bytes = zipOf({ 'model.json': text, 'weights.bin': entries['weights.bin'] as Uint8Array });
      await expect(tfjsExecutor.load(descriptor('unknown', bytes))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'TF.js cannot build the model', 'NoSuchLayer'),
      );
    });

    it('an unsupported graph op', async () => {
      const artifacts = graphArtifacts({ signature: true });
      const topology = artifacts.modelTopology as { node: { op: string }[] };
      const node = topology.node[3];
      if (node) node.op = 'NoSuchOp';
      await expect(tfjsExecutor.load(descriptor('badop', packTfjsArchive(artifacts)))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'TF.js cannot build the model', "ops TF.js cannot run: NoSuchOp (node 'mm')"),
      );
    });

    it('an empty descriptor', async () => {
      await expect(tfjsExecutor.load(descriptor('empty', null))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'neither model bytes nor a modelSourceLocation'),
      );
      await expect(tfjsExecutor.load(descriptor('empty', new Uint8Array(0)))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'the model bytes are empty'),
      );
    });

    it('an aborted load', async () => {
      await expect(tfjsExecutor.load(descriptor('dense', await denseArchive()), { signal: AbortSignal.abort() })).rejects.toThrow();
    });
  });

  describe('by modelSourceLocation', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sluice-tfjs-location-'));
      await writeFile(join(dir, 'dense.tfjs'), await denseArchive());
      await writeFile(join(dir, 'graph.zip'), graphArchive({ signature: true }));
      // A model directory as TF.js writes it, with the weights in two shards.
      const { weightSpecs, weightData, ...rest } = graphArtifacts({ signature: true });
      const weights = new Uint8Array(weightData as ArrayBuffer);
      await mkdir(join(dir, 'graph-dir'));
      await writeFile(
        join(dir, 'graph-dir', 'model.json'),
        JSON.stringify({ ...rest, weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: weightSpecs }] }),
      );
      await writeFile(join(dir, 'graph-dir', 'group1-shard1of2.bin'), weights.subarray(0, 16));
      await writeFile(join(dir, 'graph-dir', 'group1-shard2of2.bin'), weights.subarray(16));
      await mkdir(join(dir, 'broken-dir'));
      await writeFile(join(dir, 'broken-dir', 'model.json'), JSON.stringify({ ...rest, weightsManifest: [{ paths: ['gone.bin'], weights: weightSpecs }] }));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const scoresOf = async (location: string, input = 'features', output = 'scores'): Promise<number[]> => {
      const model = await tfjsExecutor.load(descriptor('located', null, location));
      try {
        const out = await model.infer({ [input]: tensor('float32', [1, 3], Float32Array.from([1, 2, 3])) });
        return Array.from(out[output]?.data as Float32Array);
      } finally {
        await model.unload();
      }
    };

    it('an archive file by path or file:// URL, whatever its extension', async () => {
      expect(await scoresOf(join(dir, 'dense.tfjs'))).toEqual(close(affine([1, 2, 3])));
      expect(await scoresOf(pathToFileURL(join(dir, 'graph.zip')).href)).toEqual(close(affine([1, 2, 3])));
    });

    it('a model directory, or its model.json', async () => {
      expect(await scoresOf(join(dir, 'graph-dir'))).toEqual(close(affine([1, 2, 3])));
      expect(await scoresOf(pathToFileURL(join(dir, 'graph-dir', 'model.json')).href)).toEqual(close(affine([1, 2, 3])));
    });

    it('rejects a missing file, a missing weight file, and remote locations', async () => {
      await expect(tfjsExecutor.load(descriptor('m', null, join(dir, 'nothing.tfjs')))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'cannot read model location', 'ENOENT'),
      );
      await expect(tfjsExecutor.load(descriptor('m', null, join(dir, 'broken-dir')))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', "weight file 'gone.bin' named by", 'cannot be read'),
      );
      await expect(tfjsExecutor.load(descriptor('m', null, 'https://example.com/model.json'))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', "unsupported modelSourceLocation 'https://example.com/model.json'"),
      );
    });
  });
});
