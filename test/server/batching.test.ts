/**
 * Dynamic batching on the server, observed through its metrics (never through timings):
 * concurrent requests from several protocols become one model call and each gets its own rows
 * back; a full queue refuses with 429 / RESOURCE_EXHAUSTED; a request that makes the model fail
 * fails alone while the others in its batch are answered.
 */
import { rm } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../../src/server/server.js';
import {
  eventually,
  floatsOf,
  metricValue,
  oipBody,
  onnxBytes,
  openInferenceClient,
  quietLog,
  rawFloats,
  recommenderA,
  referenceScores,
  RestClient,
  tempRepository,
  writeVersion,
} from './support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: { maxBatchSize: number; batchDelayMs: number; maxQueue?: number }): Promise<{ server: ModelServer; client: RestClient }> {
  const repository = await tempRepository();
  await writeVersion(repository, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
  const server = await startModelServer({ models: repository, httpPort: 0, grpcPort: 0, log: quietLog, ...options });
  const client = new RestClient(server.urls.http);
  cleanups.push(async () => {
    await client.close();
    await server.close();
    await rm(repository, { recursive: true, force: true });
  });
  return { server, client };
}

/** Request `i`'s three (user, product) pairs, different for every request. */
function pairsOf(i: number): { users: number[]; products: number[] } {
  return { users: [i, i + 100, i + 200], products: [(i * 7) % 300, (i * 11) % 300, (i * 13) % 300] };
}

async function metrics(client: RestClient): Promise<string> {
  return (await client.get('/metrics')).text;
}

function expectScores(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
}

describe('dynamic batching', () => {
  it('joins concurrent requests from every protocol into one model call and splits the result back', async () => {
    // 20 requests of 3 rows fill a 60-row batch exactly; the long delay means nothing is scored before.
    const { server, client } = await serve({ maxBatchSize: 60, batchDelayMs: 60_000 });
    const grpc = openInferenceClient(server.urls.grpc);
    cleanups.push(async () => grpc.close());
    const calls = Array.from({ length: 20 }, async (_, i) => {
      const { users, products } = pairsOf(i);
      if (i % 4 === 3) {
        const reply = await grpc.call('ModelInfer', {
          model_name: 'recommender',
          inputs: [
            { name: 'users', datatype: 'FP32', shape: [3, 1] },
            { name: 'products', datatype: 'FP32', shape: [3, 1] },
          ],
          raw_input_contents: [rawFloats(users), rawFloats(products)],
        });
        return floatsOf(reply.raw_output_contents[0]);
      }
      if (i % 4 === 2) {
        const reply = await client.post('/v1/models/recommender:predict', { inputs: { users: users.map((u) => [u]), products: products.map((p) => [p]) } });
        return (reply.json().outputs as number[][]).flat();
      }
      const reply = await client.post('/v2/models/recommender/infer', oipBody(users, products));
      return reply.json().outputs[0].data as number[];
    });
    const answers = await Promise.all(calls);
    for (const [i, answer] of answers.entries()) {
      const { users, products } = pairsOf(i);
      expectScores(answer, await referenceScores(recommenderA, users, products));
    }
    const text = await metrics(client);
    const labels = { model: 'recommender', version: '1' };
    expect(metricValue(text, 'sluice_server_batch_requests_count', labels)).toBe(1);
    expect(metricValue(text, 'sluice_server_batch_requests_sum', labels)).toBe(20);
    expect(metricValue(text, 'sluice_server_batch_rows_sum', labels)).toBe(60);
  });

  it('refuses requests beyond the queue bound with 429 and RESOURCE_EXHAUSTED, and answers the queued ones', async () => {
    const { server, client } = await serve({ maxBatchSize: 1000, batchDelayMs: 60_000, maxQueue: 2 });
    const queued = [client.post('/v2/models/recommender/infer', oipBody([1], [2])), client.post('/v2/models/recommender/infer', oipBody([3], [4]))];
    await eventually(async () => expect(metricValue(await metrics(client), 'sluice_server_queue_depth', { model: 'recommender', version: '1' })).toBe(2));

    const refused = await client.post('/v2/models/recommender/infer', oipBody([5], [6]));
    expect([refused.status, refused.json()]).toEqual([429, { error: 'model recommender version 1 already has 2 requests queued; retry later' }]);
    const grpc = openInferenceClient(server.urls.grpc);
    cleanups.push(async () => grpc.close());
    const error = await grpc.failure('ModelInfer', {
      model_name: 'recommender',
      inputs: [
        { name: 'users', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [5] } },
        { name: 'products', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [6] } },
      ],
    });
    expect([status[error.code], error.details]).toEqual(['RESOURCE_EXHAUSTED', 'model recommender version 1 already has 2 requests queued; retry later']);

    // Shutting down scores what is queued at once instead of after the delay.
    await server.close();
    const answers = await Promise.all(queued);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expectScores(answers[1]?.json().outputs[0].data, await referenceScores(recommenderA, [3], [4]));
  });

  it('fails only the request that makes the model fail; the rest of its batch is answered', async () => {
    const { client } = await serve({ maxBatchSize: 9, batchDelayMs: 60_000 });
    // User 5000 is outside the model's embedding table: onnxruntime refuses that batch.
    const [first, bad, last] = await Promise.all([
      client.post('/v2/models/recommender/infer', oipBody(pairsOf(1).users, pairsOf(1).products)),
      client.post('/v2/models/recommender/infer', oipBody([1, 5000, 2], [1, 2, 3])),
      client.post('/v2/models/recommender/infer', oipBody(pairsOf(2).users, pairsOf(2).products)),
    ]);
    expect(bad?.status).toBe(500);
    expect(bad?.json().error).toMatch(/^inference with model recommender failed: /);
    expectScores(first?.json().outputs[0].data, await referenceScores(recommenderA, pairsOf(1).users, pairsOf(1).products));
    expectScores(last?.json().outputs[0].data, await referenceScores(recommenderA, pairsOf(2).users, pairsOf(2).products));
    // The server serves on: a request filling the next batch on its own is answered.
    const nine = Array.from({ length: 9 }, (_, i) => i);
    expect((await client.post('/v2/models/recommender/infer', oipBody(nine, nine))).status).toBe(200);
  });
});
