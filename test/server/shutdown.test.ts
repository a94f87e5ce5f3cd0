/**
 * Graceful close in-process: a request in flight when the server closes is answered (its batch
 * is scored at once instead of after the batch delay), then both ports refuse new work and the
 * models are unloaded.
 */
import { rm } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { expect, it } from 'vitest';
import { createOnnxExecutor } from '../../src/serving/executors/onnx.js';
import { ExecutorRegistry } from '../../src/serving/registry.js';
import { startModelServer } from '../../src/server/server.js';
import {
  eventually,
  metricValue,
  oipBody,
  onnxBytes,
  openInferenceClient,
  quietLog,
  recommenderA,
  referenceScores,
  RestClient,
  tempRepository,
  writeVersion,
} from './support.js';

it('answers the request in flight, then refuses new ones and unloads the models', async () => {
  const repository = await tempRepository();
  await writeVersion(repository, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
  const onnx = createOnnxExecutor();
  const server = await startModelServer({
    models: repository,
    httpPort: 0,
    grpcPort: 0,
    batchDelayMs: 60_000,
    executors: new ExecutorRegistry().register(onnx).seal(),
    log: quietLog,
  });
  const client = new RestClient(server.urls.http);
  const grpc = openInferenceClient(server.urls.grpc);
  try {
    expect(await grpc.call('ServerLive', {})).toEqual({ live: true });
    const inFlight = client.post('/v2/models/recommender/infer', oipBody([7, 8], [9, 10]));
    await eventually(async () => expect(metricValue((await client.get('/metrics')).text, 'sluice_server_queue_depth', { model: 'recommender' })).toBe(1));

    const closing = server.close();
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    const expected = await referenceScores(recommenderA, [7, 8], [9, 10]);
    answered.json().outputs[0].data.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i] as number, 6));
    await closing;

    expect(onnx.openSessions).toBe(0);
    await expect(new RestClient(server.urls.http).get('/v2/health/live')).rejects.toThrow(/ECONNREFUSED/);
    const refused = await grpc.failure('ServerLive', {});
    expect(status[refused.code]).toBe('UNAVAILABLE');
  } finally {
    grpc.close();
    await client.close();
    await server.close();
    await rm(repository, { recursive: true, force: true });
  }
});
