/**
 * The model repository while the server runs: a new version folder is picked up and served, a
 * corrupt one is reported while the old version keeps serving, older versions stay reachable
 * when more than one is served, a request in flight on a retired version is answered by it
 * before it is unloaded, and the model file's name picks its executor (ONNX, PMML, TF.js).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecommenderPmml } from '../../examples/recommender/models/build-pmml.js';
import { buildRecommenderTfjs } from '../../examples/recommender/models/build-tfjs.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import { createOnnxExecutor } from '../../src/serving/executors/onnx.js';
import { ExecutorRegistry } from '../../src/serving/registry.js';
import { tensor } from '../../src/serving/tensor.js';
import { startModelServer, type ModelServer } from '../../src/server/server.js';
import { capturingLogger } from '../support/recommender.js';
import {
  eventually,
  metricValue,
  oipBody,
  onnxBytes,
  quietLog,
  recommenderA,
  recommenderB,
  referenceScores,
  RestClient,
  tempRepository,
  writeVersion,
} from './support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: Omit<Parameters<typeof startModelServer>[0], 'httpPort' | 'grpcPort'>): Promise<{ server: ModelServer; client: RestClient }> {
  const server = await startModelServer({ httpPort: 0, grpcPort: 0, pollIntervalMs: 100, log: quietLog, ...options });
  const client = new RestClient(server.urls.http);
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  return { server, client };
}

async function repositoryWith(...versions: [model: string, version: number, file: string, bytes: Uint8Array | string][]): Promise<string> {
  const repository = await tempRepository();
  cleanups.push(() => rm(repository, { recursive: true, force: true }));
  for (const [model, version, file, bytes] of versions) await writeVersion(repository, model, version, file, bytes);
  return repository;
}

async function scoresOf(client: RestClient, path: string, users: number[], products: number[]): Promise<{ version: string; scores: number[] }> {
  const reply = await client.post(path, oipBody(users, products));
  expect(reply.status, reply.text).toBe(200);
  return { version: reply.json().model_version, scores: reply.json().outputs[0].data };
}

function expectScores(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
}

const users = [4, 8, 15, 16];
const products = [23, 42, 108, 299];

describe('version rollout', () => {
  it('picks up a new version folder while running and retires the old one', async () => {
    const repository = await repositoryWith(['recommender', 1, 'model.onnx', onnxBytes(recommenderA)]);
    const { client } = await serve({ models: repository });
    expectScores((await scoresOf(client, '/v2/models/recommender/infer', users, products)).scores, await referenceScores(recommenderA, users, products));

    await writeVersion(repository, 'recommender', 2, 'model.onnx', onnxBytes(recommenderB));
    await eventually(async () => expect((await client.get('/v2/models/recommender')).json().versions).toEqual(['2']));
    const after = await scoresOf(client, '/v2/models/recommender/infer', users, products);
    expect(after.version).toBe('2');
    expectScores(after.scores, await referenceScores(recommenderB, users, products));
    await eventually(async () =>
      expect((await client.get('/v1/models/recommender')).json().model_version_status).toEqual([
        { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
        { version: '1', state: 'END', status: { error_code: 'OK', error_message: '' } },
      ]),
    );
    const old = await client.post('/v2/models/recommender/versions/1/infer', oipBody([1], [1]));
    expect([old.status, old.json().error]).toEqual([404, 'model recommender has no version 1 to serve: served: 2']);
  });

  it('reports a corrupt new version and keeps serving the old one, then loads it once fixed', async () => {
    const repository = await repositoryWith(['recommender', 1, 'model.onnx', onnxBytes(recommenderA)]);
    const { log, lines } = capturingLogger();
    const { client } = await serve({ models: repository, log });

    await writeVersion(repository, 'recommender', 2, 'model.onnx', 'not an onnx model');
    const status = await eventually(async () => {
      const versions = (await client.get('/v1/models/recommender')).json().model_version_status;
      expect(versions[0]).toMatchObject({ version: '2', state: 'END' });
      return versions;
    });
    expect(status[0].status).toEqual({
      error_code: 'UNKNOWN',
      error_message: expect.stringMatching(/^model recommender cannot be loaded: onnxruntime rejected the model: /),
    });
    expect(status[1]).toEqual({ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } });
    expect((await client.post('/v2/repository/index', {})).json()).toEqual([
      { name: 'recommender', version: '2', state: 'UNAVAILABLE', reason: status[0].status.error_message },
      { name: 'recommender', version: '1', state: 'READY', reason: '' },
    ]);
    const failure = lines().find((l) => l.msg === 'model version failed to load; the versions already serving go on');
    expect(failure).toMatchObject({ level: 'error', model: 'recommender', version: 2, serving: [1] });
    expect(metricValue((await client.get('/metrics')).text, 'sluice_server_model_loads_total', { model: 'recommender', outcome: 'failed' })).toBe(1);

    const served = await scoresOf(client, '/v2/models/recommender/infer', users, products);
    expect(served.version).toBe('1');
    expectScores(served.scores, await referenceScores(recommenderA, users, products));
    const explicit = await client.post('/v2/models/recommender/versions/2/infer', oipBody([1], [1]));
    expect([explicit.status, explicit.json().error]).toEqual([
      404,
      expect.stringMatching(/^model recommender has no version 2 to serve: it failed to load \(model recommender cannot be loaded: .*\); served: 1$/),
    ]);

    await writeFile(join(repository, 'recommender', '2', 'model.onnx'), onnxBytes(recommenderB));
    await eventually(async () => expect((await scoresOf(client, '/v2/models/recommender/infer', [1], [1])).version).toBe('2'));
  });

  it('serves the newest two versions when asked, each reachable by number', async () => {
    const repository = await repositoryWith(
      ['recommender', 1, 'model.onnx', onnxBytes(recommenderA)],
      ['recommender', 2, 'model.onnx', onnxBytes(recommenderB)],
    );
    const { client } = await serve({ models: repository, versionsServed: 2 });
    expect((await client.get('/v2/models/recommender')).json().versions).toEqual(['2', '1']);
    expectScores(
      (await scoresOf(client, '/v2/models/recommender/versions/1/infer', users, products)).scores,
      await referenceScores(recommenderA, users, products),
    );
    expectScores((await scoresOf(client, '/v2/models/recommender/infer', users, products)).scores, await referenceScores(recommenderB, users, products));
  });

  it('answers a request in flight on a retired version with that version, then unloads it', async () => {
    const repository = await repositoryWith(['recommender', 1, 'model.onnx', onnxBytes(recommenderA)]);
    const onnx = createOnnxExecutor();
    // A long batch delay holds the request in the queue while the new version rolls out.
    const { client } = await serve({ models: repository, executors: new ExecutorRegistry().register(onnx).seal(), batchDelayMs: 60_000 });
    const inFlight = client.post('/v2/models/recommender/infer', oipBody(users, products));
    await eventually(async () =>
      expect(metricValue((await client.get('/metrics')).text, 'sluice_server_queue_depth', { model: 'recommender', version: '1' })).toBe(1),
    );

    await writeVersion(repository, 'recommender', 2, 'model.onnx', onnxBytes(recommenderB));
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(answered.json().model_version).toBe('1');
    expectScores(answered.json().outputs[0].data, await referenceScores(recommenderA, users, products));
    expect((await client.get('/v2/models/recommender')).json().versions).toEqual(['2']);
    await eventually(async () => expect(onnx.openSessions).toBe(1));
  });
});

describe('repository layout', () => {
  it('serves PMML and TF.js models by their file names, scoring like their executors', async () => {
    const tfjs = await buildRecommenderTfjs();
    const pmml = buildRecommenderPmml();
    const repository = await repositoryWith(['trees', 1, 'model.pmml', pmml], ['layers', 1, 'model.tfjs', tfjs]);
    const { client } = await serve({ models: repository });
    expect((await client.get('/v2/models/trees')).json().platform).toBe('pmml');
    expect((await client.get('/v2/models/layers')).json().platform).toBe('tensorflowjs');

    const executors = defaultExecutors();
    for (const [name, modelType, bytes] of [
      ['trees', 'PMML', Buffer.from(pmml)],
      ['layers', 'TENSORFLOWJS', Buffer.from(tfjs)],
    ] as const) {
      const model = await executors.load({ modelName: name, description: '', modelType, modelBytes: bytes, modelSourceLocation: null });
      const expected = await model.infer({
        users: tensor('float32', [4, 1], Float32Array.from(users)),
        products: tensor('float32', [4, 1], Float32Array.from(products)),
      });
      await model.unload();
      expectScores((await scoresOf(client, `/v2/models/${name}/infer`, users, products)).scores, Array.from(expected.predictions?.data as Float32Array));
    }
  });

  it('reports a model with no loadable version as not ready, with the reason', async () => {
    const repository = await repositoryWith(
      ['recommender', 1, 'model.onnx', onnxBytes(recommenderA)],
      ['empty', 1, 'notes.txt', 'no model here'],
      ['twice', 1, 'model.onnx', onnxBytes(recommenderA)],
      ['twice', 1, 'model.pmml', buildRecommenderPmml()],
    );
    const { client } = await serve({ models: repository });
    const ready = await client.get('/v2/health/ready');
    expect([ready.status, ready.json()]).toEqual([503, { ready: false }]);
    const empty = await client.get('/v2/models/empty');
    expect(empty.status).toBe(503);
    expect(empty.json().error).toBe(
      `model empty is not ready: version 1 failed to load (no model file in ${join(repository, 'empty', '1')}: expected one of model.onnx, model.pmml, model.tfjs, model.json, graph.conf)`,
    );
    const twice = await client.post('/v2/models/twice/infer', oipBody([1], [1]));
    expect(twice.status).toBe(503);
    expect(twice.json().error).toMatch(
      /^model twice is not ready: version 1 failed to load \(.* holds model\.onnx and model\.pmml: a version folder holds one model file\)$/,
    );
    expect((await client.get('/v2/models/empty/ready')).json()).toEqual({ name: 'empty', ready: false });
    expect((await scoresOf(client, '/v2/models/recommender/infer', [1], [2])).version).toBe('1');
  });
});
