/**
 * End to end against `sluice serve` (startModelServer) serving the recommender ONNX model:
 * every protocol × transport gives exactly what the embedded ONNX executor gives; the
 * model-serving streamlet keeps scoring through two servers while one is killed (its TCP
 * connections cut mid-request), while both are down (error results, no stall), and after one
 * comes back; a server that comes back while the other serves gets its share again; and a new
 * version rolled out on the server while records stream is picked up with every record scored
 * exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommenderAdapter } from '../../../examples/recommender/adapter.js';
import type { RecommenderRecord } from '../../../examples/recommender/schemas.js';
import { ModelServing } from '../../../examples/recommender/streamlets.js';
import { onnxExecutor } from '../../../src/serving/executors/onnx.js';
import { defaultExecutors } from '../../../src/serving/executors/index.js';
import type { RemoteModelType } from '../../../src/serving/remote/location.js';
import { startModelServer, type ModelServer } from '../../../src/server/server.js';
import { startStreamlet } from '../../../src/testkit.js';
import { recommenderRecord, recommenderDescriptor, results, tempDir } from '../../support/recommender.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { eventually, metricValue, onnxBytes, quietLog, recommenderA, recommenderB, tempRepository, writeVersion } from '../../server/support.js';
import { remoteDescriptor } from './support.js';

let repository: string;
const started: ModelServer[] = [];
beforeAll(async () => {
  repository = await tempRepository();
  await writeVersion(repository, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

async function serve(models = repository): Promise<ModelServer> {
  const server = await startModelServer({ models, httpPort: 0, grpcPort: 0, pollIntervalMs: 100, log: quietLog });
  started.push(server);
  return server;
}

const records = (from: number, count: number): RecommenderRecord[] => Array.from({ length: count }, (_, i) => recommenderRecord(from + i));

/** Two servers, each behind a TCP proxy whose connections a test can cut. */
async function proxiedPair(): Promise<{ servers: [ModelServer, ModelServer]; proxies: TcpProxy[]; a: TcpProxy; b: TcpProxy }> {
  const servers: [ModelServer, ModelServer] = [await serve(), await serve()];
  const proxies = await Promise.all(
    servers.map((s) => {
      const [host, port] = s.urls.grpc.split(':') as [string, string];
      return startTcpProxy({ host, port: Number(port) });
    }),
  );
  const [a, b] = proxies as [TcpProxy, TcpProxy];
  return { servers, proxies, a, b };
}

/** What the embedded ONNX executor scores for these records: the numbers the remote path must give. */
async function embeddedScores(batch: readonly RecommenderRecord[], name: 'recommender-a' | 'recommender-b' = 'recommender-a'): Promise<number[][]> {
  const model = await onnxExecutor.load(recommenderDescriptor(name));
  try {
    return recommenderAdapter.fromOutputs(batch, await model.infer(recommenderAdapter.toInputs(batch))).map((o) => o.probabilities);
  } finally {
    await model.unload();
  }
}

const declared = 'inputs=users:float32[?,1],products:float32[?,1]&outputs=predictions:float32[?,1]';

describe('each protocol against sluice serve', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await serve();
  });

  const cases: readonly [string, RemoteModelType, (s: ModelServer) => string][] = [
    ['Open Inference REST', 'OPEN_INFERENCE', (s) => `${s.urls.http}/recommender`],
    ['Open Inference gRPC', 'OPEN_INFERENCE', (s) => `grpc://${s.urls.grpc}/recommender`],
    ['TensorFlow Serving REST', 'TENSORFLOW_SERVING', (s) => `${s.urls.http}/recommender`],
    ['TensorFlow Serving gRPC', 'TENSORFLOW_SERVING', (s) => `grpc://${s.urls.grpc}/recommender?${declared}`],
    ['Seldon REST', 'SELDON', (s) => `${s.urls.http}/recommender?namespace=models`],
    ['Seldon REST, declared signature', 'SELDON', (s) => `${s.urls.http}/recommender?${declared}`],
  ];
  it.each(cases)('%s scores exactly as the embedded model does', async (_, type, location) => {
    const model = await defaultExecutors().load(remoteDescriptor(type, location(server)));
    try {
      expect(recommenderAdapter.check(model.metadata())).toEqual([]);
      const batch = records(0, 40);
      const outputs = recommenderAdapter.fromOutputs(batch, await model.infer(recommenderAdapter.toInputs(batch)));
      expect(outputs.map((o) => o.probabilities)).toEqual(await embeddedScores(batch));
    } finally {
      await model.unload();
    }
  });

  it('rejects a model sluice serve does not have, with its answer', async () => {
    const load = defaultExecutors().load(remoteDescriptor('OPEN_INFERENCE', `grpc://${server.urls.grpc}/nope`));
    await expect(load).rejects.toThrow(/model 'nope' is not served as expected; the metadata request failed at grpc:\/\/.*: gRPC NOT_FOUND/);
  });
});

it('the model-serving streamlet loses no record when one of two servers is killed, and uses it again when it is back', async () => {
  const { proxies, a, b } = await proxiedPair();
  const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() }, config: { 'batch-size': 16 } });
  try {
    const location = `grpc://${a.address},${b.address}/recommender?circuit-failures=2&circuit-cooldown=300ms`;
    await h.send('in-1', [remoteDescriptor('OPEN_INFERENCE', location, 'recommender-served')]);
    await h.until(() => h.committed('in-1') === 1);

    const total = 1_500;
    const all = records(0, total + 400);
    const expected = await embeddedScores(all);
    const sending = h.send('in-0', all.slice(0, total));
    await h.until(() => h.outputs('out').length >= 300);
    await b.close();
    await sending;
    await h.until(() => h.outputs('out').length === total, 30_000);
    const scored = results(h.outputs('out'));
    expect(scored.map((r) => r.inputRecord.datatype)).toEqual(all.slice(0, total).map((r) => r.datatype));
    expect(scored.filter((r) => r.modelResultMetadata.errors !== '')).toEqual([]);
    expect(scored.map((r) => r.modelResult.probabilities)).toEqual(expected.slice(0, total));

    // Both down: error results, the stream goes on.
    await a.close();
    await h.send('in-0', all.slice(total, total + 100));
    await h.until(() => h.outputs('out').length === total + 100, 30_000);
    for (const r of results(h.outputs('out')).slice(total)) expect(r.modelResultMetadata.errors).toMatch(/^model recommender-served cannot be reached: /);

    // b comes back: scoring resumes once its circuit lets a probe through.
    await b.reopen();
    let sent = total + 100;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      await h.send('in-0', all.slice(sent, sent + 1));
      sent++;
      await h.until(() => h.outputs('out').length === sent);
      if (results(h.outputs('out')).at(-1)?.modelResultMetadata.errors === '') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await h.send('in-0', all.slice(sent, sent + 100));
    await h.until(() => h.outputs('out').length === sent + 100);
    const resumed = results(h.outputs('out')).slice(sent - 1);
    expect(resumed.filter((r) => r.modelResultMetadata.errors !== '')).toEqual([]);
    expect(resumed.map((r) => r.modelResult.probabilities)).toEqual(expected.slice(sent - 1, sent + 100));
  } finally {
    await h.stop();
    await Promise.all(proxies.map((p) => p.close()));
  }
});

/** A server's answered requests, from its own /metrics. */
async function answered(server: ModelServer): Promise<number> {
  const text = await (await fetch(`${server.urls.http}/metrics`)).text();
  return metricValue(text, 'sluice_server_requests_total', { protocol: 'open-inference-grpc', model: 'recommender', code: 'OK' }) ?? 0;
}

it('sends traffic again to a server that comes back while the other one serves', async () => {
  const { servers, proxies, a, b } = await proxiedPair();
  const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() }, config: { 'batch-size': 16 } });
  try {
    const location = `grpc://${a.address},${b.address}/recommender?circuit-failures=2&circuit-cooldown=200ms`;
    await h.send('in-1', [remoteDescriptor('OPEN_INFERENCE', location, 'recommender-served')]);
    await h.until(() => h.committed('in-1') === 1);
    const all = records(0, 3_000);
    const expected = await embeddedScores(all);
    let sent = 0;
    const stream = async (count: number) => {
      await h.send('in-0', all.slice(sent, sent + count));
      sent += count;
      await h.until(() => h.outputs('out').length === sent, 30_000);
    };

    await stream(200);
    await b.close();
    await stream(200);
    const whileDown = await answered(servers[1]);
    await b.reopen();
    // Records keep flowing through a; b's circuit lets a probe through after its cool-down, then b takes its share again.
    await eventually(async () => {
      await stream(20);
      expect(await answered(servers[1])).toBeGreaterThan(whileDown + 5);
    }, 20_000);
    const before = await Promise.all(servers.map(answered));
    await stream(320);
    const after = await Promise.all(servers.map(answered));
    // 20 batches of 16, round-robin over two healthy servers: each gets about half.
    for (let i = 0; i < 2; i++) expect((after[i] as number) - (before[i] as number)).toBeGreaterThanOrEqual(5);

    const scored = results(h.outputs('out'));
    expect(scored.map((r) => r.inputRecord.datatype)).toEqual(all.slice(0, sent).map((r) => r.datatype));
    expect(scored.filter((r) => r.modelResultMetadata.errors !== '')).toEqual([]);
    expect(scored.map((r) => r.modelResult.probabilities)).toEqual(expected.slice(0, sent));
  } finally {
    await h.stop();
    await Promise.all(proxies.map((p) => p.close()));
  }
});

describe.each(['grpc', 'http'] as const)('a new version rolled out on the server while records stream over %s', (scheme) => {
  it('is picked up: every record scored exactly once, the old version until the switch, the new one after', async () => {
    const models = await tempRepository();
    await writeVersion(models, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
    const server = await serve(models);
    const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() }, config: { 'batch-size': 16 } });
    try {
      const base = scheme === 'grpc' ? `grpc://${server.urls.grpc}` : server.urls.http;
      await h.send('in-1', [remoteDescriptor('OPEN_INFERENCE', `${base}/recommender`, 'recommender-served')]);
      await h.until(() => h.committed('in-1') === 1);
      const all = records(0, 4_000);
      const [byA, byB] = await Promise.all([embeddedScores(all, 'recommender-a'), embeddedScores(all, 'recommender-b')]);
      const servedBy = (i: number, probabilities: readonly number[]): 'a' | 'b' | 'neither' =>
        JSON.stringify(probabilities) === JSON.stringify(byA[i]) ? 'a' : JSON.stringify(probabilities) === JSON.stringify(byB[i]) ? 'b' : 'neither';

      let sent = 0;
      let rolledOut = false;
      // Records stream in small chunks while version 2 is written, picked up and swapped in.
      while (sent < all.length) {
        await h.send('in-0', all.slice(sent, sent + 50));
        sent += 50;
        if (sent === 500) {
          await h.until(() => h.outputs('out').length >= 400);
          await writeVersion(models, 'recommender', 2, 'model.onnx', onnxBytes(recommenderB));
          rolledOut = true;
        }
        const last = results(h.outputs('out')).at(-1);
        if (rolledOut && sent >= 1_500 && last && servedBy(h.outputs('out').length - 1, last.modelResult.probabilities) === 'b') break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await h.send('in-0', all.slice(sent, sent + 500));
      sent += 500;
      await h.until(() => h.outputs('out').length === sent, 30_000);

      const scored = results(h.outputs('out'));
      expect(scored.map((r) => r.inputRecord.datatype)).toEqual(all.slice(0, sent).map((r) => r.datatype));
      expect(scored.filter((r) => r.modelResultMetadata.errors !== '')).toEqual([]);
      const by = scored.map((r, i) => servedBy(i, r.modelResult.probabilities));
      expect(by.filter((v) => v === 'neither')).toEqual([]);
      const switchAt = by.indexOf('b');
      expect(switchAt).toBeGreaterThanOrEqual(400);
      expect(by.slice(0, switchAt).every((v) => v === 'a')).toBe(true);
      expect(by.slice(switchAt).every((v) => v === 'b')).toBe(true);
      expect(sent - switchAt).toBeGreaterThanOrEqual(500);

      // The server scored every row once: rows scored by the two versions add up to the rows sent.
      const metrics = await (await fetch(`${server.urls.http}/metrics`)).text();
      const rows = (version: string) => metricValue(metrics, 'sluice_server_batch_rows_sum', { model: 'recommender', version }) ?? 0;
      const sentRows = all.slice(0, sent).reduce((sum, r) => sum + r.products.length, 0);
      expect(rows('1') + rows('2')).toBe(sentRows);
      expect(rows('2')).toBe(all.slice(switchAt, sent).reduce((sum, r) => sum + r.products.length, 0));
    } finally {
      await h.stop();
    }
  });
});
