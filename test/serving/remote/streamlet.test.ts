/**
 * The recommender's model-serving streamlet scoring through a remote model on two servers:
 * with one server killed mid-stream no record is lost or scored wrong; with both down every
 * record still gets a result, carrying the error, and the stream goes on; when a server comes
 * back, records are scored again.
 */
import { afterEach, expect, it } from 'vitest';
import { ModelServing } from '../../../examples/recommender/streamlets.js';
import type { RecommenderRecord } from '../../../examples/recommender/schemas.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { recommenderRecord, results, tempDir } from '../../support/recommender.js';
import { score, startGrpcServer, startRestServer, type TestServer } from './servers.js';
import { remoteDescriptor } from './support.js';

const servers: TestServer[] = [];
let harness: StreamletHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const records = (from: number, count: number): RecommenderRecord[] => Array.from({ length: count }, (_, i) => recommenderRecord(from + i));

/** Every record answered once, in order, and those given scored exactly as the server's model scores them. */
function checkScored(outputs: readonly unknown[], from: number, count: number): void {
  const scored = results(outputs).slice(from, from + count);
  expect(scored.map((r) => r.inputRecord.datatype)).toEqual(records(from, count).map((r) => r.datatype));
  for (const r of scored) {
    expect(r.modelResultMetadata.errors).toBe('');
    expect(r.modelResult.products).toEqual(r.inputRecord.products.map(String));
    expect(r.modelResult.probabilities).toEqual(r.inputRecord.products.map((p) => score(r.inputRecord.user, p)));
  }
}

it.each([
  ['grpc', startGrpcServer],
  ['http', startRestServer],
] as const)('scores through %s while one of two servers is killed, both are down, and one comes back', async (scheme, start) => {
  const [a, b] = (await Promise.all([start(), start()])) as [TestServer, TestServer];
  servers.push(a, b);
  // Slow answers keep requests in flight when a server is killed.
  a.delayMs = b.delayMs = 3;
  harness = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() }, config: { 'batch-size': 16 } });
  const h = harness;
  const location = `${scheme}://${a.address},${b.address}/scorer?circuit-failures=2&circuit-cooldown=300ms&timeout=2s`;
  await h.send('in-1', [remoteDescriptor('OPEN_INFERENCE', location, 'recommender-remote')]);
  await h.until(() => h.committed('in-1') === 1);

  const total = 1_500;
  const sending = h.send('in-0', records(0, total));
  await h.until(() => h.outputs('out').length >= 300);
  const beforeKill = b.inferences();
  await b.stop();
  await sending;
  await h.until(() => h.outputs('out').length === total, 30_000);
  checkScored(h.outputs('out'), 0, total);
  expect(beforeKill).toBeGreaterThan(0);
  expect(h.outputs('out').length).toBe(total);

  // Both down: every record still gets a result, with the error, and the stream goes on.
  await a.stop();
  await h.send('in-0', records(total, 100));
  await h.until(() => h.outputs('out').length === total + 100, 30_000);
  const failed = results(h.outputs('out')).slice(total);
  expect(failed.map((r) => r.inputRecord.datatype)).toEqual(records(total, 100).map((r) => r.datatype));
  for (const r of failed) {
    expect(r.modelResult.products).toEqual([]);
    expect(r.modelResultMetadata.errors).toMatch(/^model recommender-remote cannot be reached: /);
  }
  expect(failed.at(-1)?.modelResultMetadata.errors).toContain('no endpoint can take the call');

  // One comes back: records are scored again once its circuit lets a probe through.
  await a.restart();
  let sent = total + 100;
  const deadline = Date.now() + 15_000;
  for (;;) {
    await h.send('in-0', records(sent, 1));
    sent++;
    await h.until(() => h.outputs('out').length === sent);
    if (results(h.outputs('out')).at(-1)?.modelResultMetadata.errors === '' || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await h.send('in-0', records(sent, 50));
  await h.until(() => h.outputs('out').length === sent + 50);
  checkScored(h.outputs('out'), sent - 1, 51);
  const state = (await (await fetch(`${h.url}/state`)).json()) as { name: string; source: string; failedRecords: number };
  expect(state).toMatchObject({ name: 'recommender-remote', source: `OPEN_INFERENCE ${location}` });
  expect(state.failedRecords).toBeGreaterThanOrEqual(100);
});
