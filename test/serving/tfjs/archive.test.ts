import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TfjsArchiveError,
  archiveFileHandler,
  archiveLoadHandler,
  archiveSaveHandler,
  packTfjsArchive,
  unpackTfjsArchive,
} from '../../../src/serving/executors/tfjs/index.js';
import { seededRandom } from '../../../src/util/random.js';
import { W, affine, b, denseArchive, graphArtifacts, zipOf } from './fixtures.js';

const archiveError = (...fragments: string[]) =>
  expect.objectContaining({
    name: 'TfjsArchiveError',
    message: expect.stringMatching(new RegExp(fragments.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*'))),
  });

function unpackError(bytes: Uint8Array, options?: { maxBytes: number }): unknown {
  try {
    unpackTfjsArchive(bytes, options);
  } catch (err) {
    expect(err).toBeInstanceOf(TfjsArchiveError);
    return err;
  }
  throw new Error('the archive was accepted');
}

/** A valid model.json for the hand-written graph model, and its weight bytes. */
function graphFiles(): { json: Record<string, unknown>; weights: Uint8Array } {
  const { weightSpecs, weightData, ...rest } = graphArtifacts({ signature: true });
  return {
    json: { ...rest, weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }] },
    weights: new Uint8Array(weightData as ArrayBuffer),
  };
}

describe('TF.js model archive', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('round-trips artifacts: topology, signature, weight specs and bytes', () => {
    const artifacts = graphArtifacts({ signature: true });
    const archive = packTfjsArchive(artifacts);
    const entries = unzipSync(archive);
    expect(Object.keys(entries).sort()).toEqual(['model.json', 'weights.bin']);
    const modelJson = JSON.parse(strFromU8(entries['model.json'] as Uint8Array)) as Record<string, unknown>;
    expect(modelJson.weightsManifest).toEqual([{ paths: ['weights.bin'], weights: artifacts.weightSpecs }]);

    const back = unpackTfjsArchive(archive);
    expect(back.modelTopology).toEqual(artifacts.modelTopology);
    expect(back.signature).toEqual(artifacts.signature);
    expect(back.format).toBe('graph-model');
    expect(back.weightSpecs).toEqual(artifacts.weightSpecs);
    expect(new Uint8Array(back.weightData as ArrayBuffer)).toEqual(new Uint8Array(artifacts.weightData as ArrayBuffer));
  });

  it('reads an archive that is a view into a larger buffer', () => {
    const archive = packTfjsArchive(graphArtifacts({ signature: true }));
    const larger = new Uint8Array(archive.length + 20).fill(0x50);
    larger.set(archive, 7);
    expect(unpackTfjsArchive(larger.subarray(7, 7 + archive.length)).weightSpecs).toEqual(graphArtifacts({ signature: true }).weightSpecs);
  });

  it('answers any damaged byte with a TfjsArchiveError or with the intact model, never another error', async () => {
    const archive = await denseArchive();
    const random = seededRandom(7);
    const expected = unpackTfjsArchive(archive);
    for (let i = 0; i < 500; i++) {
      const damaged = archive.slice();
      const at = Math.floor(random() * damaged.length);
      damaged[at] = ((damaged[at] as number) + 1 + Math.floor(random() * 255)) & 0xff;
      try {
        const artifacts = unpackTfjsArchive(damaged);
        // Bytes no reader checks (timestamps, version fields...): the model must be unchanged.
        expect(artifacts.modelTopology).toEqual(expected.modelTopology);
        expect(new Uint8Array(artifacts.weightData as ArrayBuffer)).toEqual(new Uint8Array(expected.weightData as ArrayBuffer));
      } catch (err) {
        expect(err, `byte ${at}`).toBeInstanceOf(TfjsArchiveError);
      }
    }
  });

  it('packs the same artifacts into the same bytes', () => {
    expect(packTfjsArchive(graphArtifacts({ signature: true }))).toEqual(packTfjsArchive(graphArtifacts({ signature: true })));
  });

  it('lets tf.loadLayersModel load from memory and model.save save to an archive', async () => {
    const model = await tf.loadLayersModel(archiveLoadHandler(await denseArchive()));
    let saved: Uint8Array | undefined;
    await model.save(archiveSaveHandler((bytes) => void (saved = bytes)));
    model.dispose();
    const again = await tf.loadLayersModel(archiveLoadHandler(saved as Uint8Array));
    const [scores] = again.predict(tf.tensor2d([[1, 2, 3]])) as tf.Tensor[];
    expect(Array.from(scores?.dataSync() ?? [])).toEqual(affine([1, 2, 3]).map((v) => expect.closeTo(v, 5)));
    tf.dispose(scores);
    again.dispose();
  });

  it('lets tf.loadGraphModel load from memory', async () => {
    const model = await tf.loadGraphModel(archiveLoadHandler(packTfjsArchive(graphArtifacts({ signature: false }))));
    const y = model.execute(tf.tensor2d([[1, 0, 0]])) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([W[0][0] + b[0], W[0][1] + b[1]].map((v) => expect.closeTo(v, 5)));
    y.dispose();
    model.dispose();
  });

  describe('in a local file', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sluice-tfjs-archive-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('saves atomically and loads back', async () => {
      const path = join(dir, 'dense.tfjs');
      const model = await tf.loadLayersModel(archiveLoadHandler(await denseArchive()));
      await model.save(archiveFileHandler(path));
      model.dispose();
      expect(await readdir(dir)).toEqual(['dense.tfjs']); // no temporary file left behind
      expect(unpackTfjsArchive(await readFile(path)).format).toBe('layers-model');
      const loaded = await tf.loadLayersModel(archiveFileHandler(path));
      expect(loaded.outputNames).toEqual(['scores', 'probability']);
      loaded.dispose();
    });
  });

  it('finds model.json in the one top-level folder of an archive made by zipping a model directory', () => {
    const { json, weights } = graphFiles();
    const artifacts = unpackTfjsArchive(zipOf({ 'my-model/model.json': JSON.stringify(json), 'my-model/weights.bin': weights }));
    expect(artifacts.weightSpecs?.map((s) => s.name)).toEqual(['w', 'b']);
  });

  it('joins weights split over several shards and groups, in manifest order', () => {
    const { json, weights } = graphFiles();
    const specs = (json.weightsManifest as tf.io.WeightsManifestConfig)[0]?.weights ?? [];
    const manifest = [
      { paths: ['./group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs.slice(0, 1) },
      { paths: ['group2-shard1of1.bin'], weights: specs.slice(1) },
    ];
    const artifacts = unpackTfjsArchive(
      zipOf({
        'model.json': JSON.stringify({ ...json, weightsManifest: manifest }),
        'group1-shard1of2.bin': weights.slice(0, 10),
        'group1-shard2of2.bin': weights.slice(10, 24),
        'group2-shard1of1.bin': weights.slice(24),
      }),
    );
    expect(artifacts.weightSpecs).toEqual(specs);
    expect(new Uint8Array(artifacts.weightData as ArrayBuffer)).toEqual(weights);
  });

  describe('rejects, saying why,', () => {
    it('bytes that are not a zip', () => {
      expect(unpackError(new TextEncoder().encode('this is not a model at all, just some text'))).toEqual(
        archiveError('not a ZIP archive', 'no ZIP signature', 'model.json'),
      );
      expect(unpackError(new Uint8Array(5))).toEqual(archiveError('not a ZIP archive', 'only 5 bytes'));
    });

    it('a truncated archive', async () => {
      const archive = await denseArchive();
      expect(unpackError(archive.subarray(0, archive.length - 30))).toEqual(archiveError('not a ZIP archive', 'truncated'));
    });

    it('an archive without model.json', () => {
      expect(unpackError(zipOf({ 'saved_model.pb': 'x', 'variables/variables.index': 'y' }))).toEqual(
        archiveError("no model.json (it holds 'saved_model.pb', 'variables/variables.index')"),
      );
    });

    it('an archive with several models', () => {
      expect(unpackError(zipOf({ 'a/model.json': '{}', 'b/model.json': '{}' }))).toEqual(archiveError('several model.json files'));
    });

    it('a model.json that is not JSON, or not a model', () => {
      expect(unpackError(zipOf({ 'model.json': '{"modelTopology": ' }))).toEqual(archiveError("the archive's model.json is not valid JSON"));
      expect(unpackError(zipOf({ 'model.json': new Uint8Array([0xff, 0xfe, 0x00]) }))).toEqual(archiveError('not UTF-8'));
      expect(unpackError(zipOf({ 'model.json': '[1, 2]' }))).toEqual(archiveError('must hold a JSON object'));
      expect(unpackError(zipOf({ 'model.json': '{"format": "layers-model"}' }))).toEqual(archiveError('no modelTopology object'));
    });

    it('a malformed weightsManifest', () => {
      const { json } = graphFiles();
      const withManifest = (weightsManifest: unknown) => zipOf({ 'model.json': JSON.stringify({ ...json, weightsManifest }) });
      expect(unpackError(withManifest({ paths: [] }))).toEqual(archiveError('weightsManifest must be an array'));
      expect(unpackError(withManifest([{ weights: [] }]))).toEqual(archiveError('weightsManifest[0].paths must be an array'));
      expect(unpackError(withManifest([{ paths: ['w.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float64' }] }]))).toEqual(
        archiveError('weightsManifest[0].weights[0] (\'w\') has unknown dtype "float64"'),
      );
      expect(unpackError(withManifest([{ paths: ['w.bin'], weights: [{ name: 'w', shape: [-2], dtype: 'float32' }] }]))).toEqual(
        archiveError('no valid shape'),
      );
      expect(unpackError(withManifest([{ paths: ['../../etc/passwd'], weights: [] }]))).toEqual(archiveError("'../../etc/passwd'", 'not a plain path'));
      expect(unpackError(withManifest([{ paths: ['/etc/passwd'], weights: [] }]))).toEqual(archiveError('not a plain path'));
    });

    it('a weight file the manifest names but the archive lacks', () => {
      const { json } = graphFiles();
      expect(unpackError(zipOf({ 'model.json': JSON.stringify(json) }))).toEqual(
        archiveError("weight file 'weights.bin' named by the weightsManifest is missing from the archive (it holds 'model.json')"),
      );
    });

    it('weight files shorter or longer than the weights they hold', () => {
      const { json, weights } = graphFiles();
      const archive = (data: Uint8Array) => zipOf({ 'model.json': JSON.stringify(json), 'weights.bin': data });
      expect(unpackError(archive(weights.subarray(0, 20)))).toEqual(archiveError('(weights.bin) hold 20 bytes but its 2 weight(s) need 32'));
      expect(unpackError(archive(new Uint8Array([...weights, 0, 0, 0, 0])))).toEqual(archiveError('hold 36 bytes but its 2 weight(s) need 32'));
    });

    it('an archive whose weights were damaged in transit (CRC-32)', () => {
      const archive = packTfjsArchive(graphArtifacts({ signature: true }));
      // Weights are stored uncompressed: find them and flip one bit of the first weight.
      const weights = new Uint8Array(new Float32Array([W[0][0]]).buffer);
      const at = archive.findIndex((_, i) => weights.every((v, j) => archive[i + j] === v));
      expect(at).toBeGreaterThan(0);
      const damaged = archive.slice();
      damaged[at] = (damaged[at] as number) ^ 0x01;
      expect(unpackError(damaged)).toEqual(archiveError("entry 'weights.bin' is corrupt", 'CRC-32'));
    });

    it('an archive that would inflate beyond the size limit', () => {
      const archive = packTfjsArchive(graphArtifacts({ signature: true }));
      expect(unpackError(archive, { maxBytes: 16 })).toEqual(archiveError('more than the limit of 16'));
    });

    it('artifacts that cannot be packed', () => {
      expect(() => packTfjsArchive({ modelTopology: new ArrayBuffer(8) })).toThrow(archiveError('binary GraphDef'));
      expect(() => packTfjsArchive({ weightSpecs: [] })).toThrow(archiveError('no modelTopology'));
      const artifacts = graphArtifacts({ signature: true });
      expect(() => packTfjsArchive({ ...artifacts, weightData: new ArrayBuffer(4) })).toThrow(archiveError('hold 4 bytes but its 2 weight(s) need 32'));
    });
  });
});
