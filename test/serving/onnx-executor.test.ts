import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildRecommenderModel,
  productCount,
  recommenderModels,
  recommenderWeights,
  scoreReference,
  userCount,
  writeRecommenderModels,
} from '../../examples/recommender/models/build-models.js';
import { SluiceError } from '../../src/core/errors.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import type { LoadedModel } from '../../src/serving/executor.js';
import { createOnnxExecutor, onnxExecutor } from '../../src/serving/executors/onnx.js';
import { tensor, type NamedTensors } from '../../src/serving/tensor.js';

const [optionsA, optionsB] = recommenderModels;
if (optionsA === undefined || optionsB === undefined) throw new Error('the example ships two recommender models');

function descriptor(modelName: string, bytes: Uint8Array | null, location: string | null = null): ModelDescriptor {
  return {
    modelName,
    description: `test model ${modelName}`,
    modelType: 'ONNX',
    modelBytes: bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    modelSourceLocation: location,
  };
}

/** A deterministic batch of (user, product) pairs covering the whole id ranges. */
function pairs(n: number): { users: number[]; products: number[] } {
  const users = Array.from({ length: n }, (_, i) => (i * 7919) % userCount);
  const products = Array.from({ length: n }, (_, i) => (i * 104729 + 13) % productCount);
  return { users, products };
}

function batch(users: readonly number[], products: readonly number[]): NamedTensors {
  return {
    users: tensor('float32', [users.length, 1], Float32Array.from(users)),
    products: tensor('float32', [products.length, 1], Float32Array.from(products)),
  };
}

async function scores(model: LoadedModel, users: readonly number[], products: readonly number[]): Promise<Float32Array> {
  const out = await model.infer(batch(users, products));
  const predictions = out['predictions'];
  expect(predictions?.dtype).toBe('float32');
  expect(predictions?.shape).toEqual([users.length, 1]);
  return predictions?.data as Float32Array;
}

function expectSluiceError(code: SluiceError['code'], ...fragments: string[]): object {
  return expect.objectContaining({
    name: 'SluiceError',
    code,
    message: expect.stringMatching(new RegExp(fragments.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*'))),
  });
}

describe('recommender model builder', () => {
  it('builds the same bytes from the same options', () => {
    expect(buildRecommenderModel(optionsA)).toEqual(buildRecommenderModel(optionsA));
  });

  it('writes each model with a description sidecar', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-models-'));
    try {
      const written = await writeRecommenderModels(dir);
      expect(written.map((p) => p.slice(dir.length + 1))).toEqual(['recommender-a.onnx', 'recommender-a.json', 'recommender-b.onnx', 'recommender-b.json']);
      const sidecar = JSON.parse(await readFile(join(dir, 'recommender-b.json'), 'utf8')) as { description: string };
      expect(sidecar.description).toMatch(/Recommender B/);
      expect(await readFile(join(dir, 'recommender-a.onnx'))).toEqual(Buffer.from(buildRecommenderModel(optionsA)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('onnx executor', () => {
  let modelA: LoadedModel;
  let modelB: LoadedModel;

  beforeAll(async () => {
    modelA = await onnxExecutor.load(descriptor(optionsA.name, buildRecommenderModel(optionsA)));
    modelB = await onnxExecutor.load(descriptor(optionsB.name, buildRecommenderModel(optionsB)));
  });

  afterAll(async () => {
    await modelA.unload();
    await modelB.unload();
  });

  it('serves model type ONNX', () => {
    expect(onnxExecutor.modelType).toBe('ONNX');
  });

  it('reads the signature from the model, with the batch dimension free', () => {
    expect(modelA.metadata()).toEqual({
      inputs: [
        { name: 'users', dtype: 'float32', shape: [-1, 1] },
        { name: 'products', dtype: 'float32', shape: [-1, 1] },
      ],
      outputs: [{ name: 'predictions', dtype: 'float32', shape: [-1, 1] }],
    });
  });

  it('scores a batch exactly as the embeddings formula computed in plain JS', async () => {
    const { users, products } = pairs(512);
    const got = await scores(modelA, users, products);
    const weights = recommenderWeights(optionsA);
    users.forEach((u, i) => {
      const p = products[i] ?? -1;
      const value = got[i] ?? NaN;
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThan(1);
      expect(value).toBeCloseTo(scoreReference(weights, u, p), 5);
    });
  });

  it('scores with latent structure: some products clearly liked, most not', async () => {
    const { users, products } = pairs(2000);
    const got = Array.from(await scores(modelA, users, products));
    const liked = got.filter((s) => s > 0.5).length / got.length;
    expect(liked).toBeGreaterThan(0.1);
    expect(liked).toBeLessThan(0.6);
  });

  it('gives visibly different scores with model A and model B', async () => {
    const { users, products } = pairs(512);
    const a = await scores(modelA, users, products);
    const b = await scores(modelB, users, products);
    const weightsB = recommenderWeights(optionsB);
    expect(b[7]).toBeCloseTo(scoreReference(weightsB, users[7] ?? -1, products[7] ?? -1), 5);
    const meanAbsDiff = a.reduce((sum, x, i) => sum + Math.abs(x - (b[i] ?? 0)), 0) / a.length;
    expect(meanAbsDiff).toBeGreaterThan(0.1);
  });

  it('scores a batch of one and an empty batch', async () => {
    expect(await scores(modelA, [3], [42])).toHaveLength(1);
    expect(await scores(modelA, [], [])).toHaveLength(0);
  });

  it('loads bytes that are a view into a larger buffer', async () => {
    const bytes = buildRecommenderModel(optionsA);
    const larger = new Uint8Array(bytes.length + 100);
    larger.set(bytes, 37);
    const model = await onnxExecutor.load(descriptor('view', larger.subarray(37, 37 + bytes.length)));
    try {
      expect(await scores(model, [1, 2], [3, 4])).toEqual(await scores(modelA, [1, 2], [3, 4]));
    } finally {
      await model.unload();
    }
  });

  it('honours a custom intra-op thread count', async () => {
    const model = await createOnnxExecutor({ intraOpNumThreads: 2 }).load(descriptor('two-threads', buildRecommenderModel(optionsA)));
    try {
      expect(await scores(model, [5], [6])).toEqual(await scores(modelA, [5], [6]));
    } finally {
      await model.unload();
    }
  });

  describe('loading from a location', () => {
    let dir: string;
    let file: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sluice-onnx-'));
      file = join(dir, 'recommender-a.onnx');
      await writeFile(file, buildRecommenderModel(optionsA));
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    for (const form of ['path', 'file:// URL'] as const) {
      it(`loads from a local ${form}`, async () => {
        const location = form === 'path' ? file : pathToFileURL(file).href;
        const model = await onnxExecutor.load(descriptor('from-file', null, location));
        try {
          expect(model.metadata().inputs.map((s) => s.name)).toEqual(['users', 'products']);
          expect(await scores(model, [10, 20], [30, 40])).toEqual(await scores(modelA, [10, 20], [30, 40]));
        } finally {
          await model.unload();
        }
      });
    }

    it('reads the location when the bytes are empty', async () => {
      const model = await onnxExecutor.load(descriptor('empty-bytes-with-file', new Uint8Array(0), file));
      await model.unload();
    });

    it('rejects a missing file, naming the model and the path', async () => {
      const missing = join(dir, 'nope.onnx');
      await expect(onnxExecutor.load(descriptor('lost', null, missing))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'model lost cannot be loaded', missing, 'ENOENT'),
      );
    });

    it('rejects an empty file', async () => {
      const empty = join(dir, 'empty.onnx');
      await writeFile(empty, '');
      await expect(onnxExecutor.load(descriptor('hollow', null, empty))).rejects.toEqual(expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'hollow', 'is empty'));
    });

    it('rejects a remote location, saying which locations are supported', async () => {
      await expect(onnxExecutor.load(descriptor('remote', null, 's3://models/recommender-a.onnx'))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'remote', 's3://models/recommender-a.onnx', 'local file path', 'file:// URL'),
      );
    });
  });

  describe('rejects a model that cannot load', () => {
    it('corrupt bytes, with onnxruntime reason', async () => {
      const corrupt = buildRecommenderModel(optionsA).slice(0, 500);
      corrupt.fill(0xff, 10, 60);
      await expect(onnxExecutor.load(descriptor('garbled', corrupt))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'model garbled cannot be loaded', 'onnxruntime rejected the model', 'protobuf'),
      );
    });

    it('no bytes and no location', async () => {
      await expect(onnxExecutor.load(descriptor('nothing', null))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'nothing', 'neither model bytes nor a modelSourceLocation'),
      );
    });

    it('empty bytes and no location', async () => {
      await expect(onnxExecutor.load(descriptor('zero', new Uint8Array(0)))).rejects.toEqual(expectSluiceError('SLUICE_ERR_MODEL_INVALID', 'zero', 'empty'));
    });
  });

  it('shows wrong input names in the metadata (the caller detects the mismatch)', async () => {
    const model = await onnxExecutor.load(descriptor('renamed', buildRecommenderModel({ ...optionsA, inputNames: ['u', 'p'] })));
    try {
      expect(model.metadata().inputs.map((s) => s.name)).toEqual(['u', 'p']);
      await expect(model.infer(batch([1], [2]))).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', 'renamed', "missing input 'u'", "'users', 'products'"),
      );
    } finally {
      await model.unload();
    }
  });

  describe('infer rejects a batch that does not fit', () => {
    it('a missing input', async () => {
      const { users } = batch([1, 2], [3, 4]);
      await expect(modelA.infer({ users: users! })).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', 'recommender-a', "missing input 'products'"),
      );
    });

    it('a wrong dtype', async () => {
      const inputs = { ...batch([1], [2]), products: tensor('float64', [1, 1], Float64Array.from([2])) };
      await expect(modelA.infer(inputs)).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', "input 'products' is float64 but the model expects float32"),
      );
    });

    it('a wrong rank', async () => {
      const inputs = { ...batch([1], [2]), users: tensor('float32', [1], Float32Array.from([1])) };
      await expect(modelA.infer(inputs)).rejects.toEqual(
        expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', "input 'users' has shape [1] but the model expects [?,1]"),
      );
    });

    it('an id outside the embedding table, wrapping the onnxruntime error as cause', async () => {
      const err: unknown = await modelA.infer(batch([userCount], [0])).catch((e: unknown) => e);
      expect(err).toEqual(expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', 'recommender-a', 'out of data bounds'));
      expect((err as SluiceError).cause).toBeInstanceOf(Error);
    });
  });

  it('ignores extra tensors the model does not take', async () => {
    const inputs = { ...batch([1], [2]), extra: tensor('int32', [1], Int32Array.from([9])) };
    expect((await modelA.infer(inputs))['predictions']?.shape).toEqual([1, 1]);
  });

  it('releases the session on unload; later calls are rejected', async () => {
    const model = await onnxExecutor.load(descriptor('short-lived', buildRecommenderModel(optionsA)));
    await model.unload();
    await model.unload(); // idempotent
    await expect(model.infer(batch([1], [2]))).rejects.toEqual(expectSluiceError('SLUICE_ERR_INFERENCE_FAILED', 'unloaded'));
  });

  it('stops a load whose signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(onnxExecutor.load(descriptor('aborted', buildRecommenderModel(optionsA)), { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
