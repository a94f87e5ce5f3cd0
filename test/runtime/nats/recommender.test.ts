/**
 * The recommender's model serving on JetStream with several replicas, each in its own
 * application instance (as separate processes would be): every request scored once, every
 * replica swapped to each new model, a replica added mid-run serving the current model from its
 * first record. Runs against the system nats-server.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecommenderModel, recommenderModels } from '../../../examples/recommender/models/build-models.js';
import { RecommenderResultSchema } from '../../../examples/recommender/schemas.js';
import type { StartedApplication } from '../../../src/app.js';
import { applicationStatus } from '../../../src/runtime/nats/status.js';
import { tempDir } from '../../support/recommender.js';
import { ServingReplicas, stateOf, type ServingState } from './serving-replicas.js';
import { readStream, SYSTEM_NATS, uniqueApp, until } from './support.js';

const blueprint = fileURLToPath(new URL('./fixtures/recommender.conf', import.meta.url));
let nc: NatsConnection;
let models: string;
let instances: ServingReplicas;

beforeAll(async () => {
  nc = await connect({ servers: SYSTEM_NATS });
  models = tempDir('sluice-nats-models-');
  mkdirSync(models, { recursive: true });
  for (const m of recommenderModels) writeFileSync(join(models, `${m.name}.onnx`), buildRecommenderModel(m));
  instances = new ServingReplicas(blueprint, models);
});

afterAll(async () => {
  await instances.stopAll();
  await nc.close();
  rmSync(models, { recursive: true, force: true });
});

describe.each([2, 4])('model serving on JetStream with %i replicas', (replicas) => {
  it('scores every request exactly once, swaps every replica to each model, and a replica added mid-run serves the current model at once', async () => {
    const app = uniqueApp(`rec${replicas}`);
    const count = 4000;
    const servers: StartedApplication[] = [];
    for (let i = 0; i < replicas; i++) servers.push(await instances.start(app, ['model-serving']));
    // Two models, 2 s apart, no cycling; requests flow for about 4 s around them.
    await instances.start(
      app,
      ['requests', 'model-ingress', 'results'],
      `requests.count=${count}`,
      'requests.pause-ms=25',
      'model-ingress.interval=2s',
      'model-ingress.cycle=false',
    );
    const last = recommenderModels[recommenderModels.length - 1]?.name;
    await until('every replica on the last model', () => servers.every((s) => stateOf(s)?.name === last));

    const late = await instances.start(app, ['model-serving']);
    // It learns the current model before scoring anything: never a record without a model.
    await until('the late replica on the last model', () => stateOf(late)?.name === last);

    const jsm = await jetstreamManager(nc);
    await until('every request scored', async () => (await jsm.streams.info(`sluice_${app}_scored`)).state.messages >= count);
    await sleep(500);
    const scored = await readStream(nc, `sluice_${app}_scored`, RecommenderResultSchema);
    const tags = scored.map((s) => s.value.inputRecord.datatype);
    expect(scored).toHaveLength(count);
    expect(new Set(tags).size).toBe(count);
    expect(tags.every((t) => /^seq-\d+$/.test(t) && Number(t.slice(4)) < count)).toBe(true);

    for (const server of servers) expect(stateOf(server)?.updates.accepted).toBe(recommenderModels.length);
    expect(stateOf(late)).toMatchObject({ name: last, recordsWithoutModel: 0, updates: { accepted: 1 } });
    const byModel = new Set(scored.map((s) => s.value.modelResultMetadata.modelName));
    for (const m of recommenderModels) expect(byModel).toContain(m.name);
  }, 90_000);
});

describe('model state on JetStream', () => {
  it('keeps model updates in the models bucket and a model larger than a message in the object store; status shows the latest', async () => {
    const app = uniqueApp('blob');
    // The shipped models are 40–70 KB: with a 16 KiB limit each travels as a blob.
    // Serving in a part of its own: it runs until stopped, not until the sources are done, so
    // its replica reports stay while the test reads them.
    const run = await instances.start(app, ['model-serving', 'results'], 'sluice.nats.inline-limit=16KiB');
    await instances.start(
      app,
      ['requests', 'model-ingress'],
      'requests.count=200',
      'sluice.nats.inline-limit=16KiB',
      'model-ingress.interval=1s',
      'model-ingress.cycle=false',
    );
    const last = recommenderModels[recommenderModels.length - 1]?.name;
    await until('the last model served', () => stateOf(run)?.name === last);

    const jsm = await jetstreamManager(nc);
    const latest = await jsm.streams.getMessage(`KV_sluice_${app}_models`, { last_by_subj: `$KV.sluice_${app}_models.models` });
    expect(latest?.data.length).toBe(0);
    const blob = latest?.header.get('Sluice-Blob') ?? '';
    expect(blob).toMatch(/^sha256-[0-9a-f]{64}$/);
    const objects = await (await new Objm(nc).open(`sluice_${app}_blobs`)).list();
    expect(objects.map((o) => o.name)).toContain(blob);
    expect(objects.every((o) => o.size > 16 * 1024)).toBe(true);

    // Replicas report every 2 s.
    let status = await applicationStatus(nc, app);
    await until('the replica report with the model', async () => {
      status = await applicationStatus(nc, app);
      return (status.streamlets.find((s) => s.name === 'model-serving')?.replicas[0]?.state as ServingState | undefined)?.name === last;
    });
    expect(status.models).toEqual([{ topic: 'models', model: expect.objectContaining({ bytes: 'object store' }) }]);
    expect(status.streamlets.find((s) => s.name === 'model-serving')?.replicas[0]).toMatchObject({
      url: run.url,
      state: expect.objectContaining({ name: last }),
    });
  }, 60_000);
});
