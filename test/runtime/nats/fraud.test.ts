/**
 * The fraud example's model serving on JetStream with several replicas, each in its own
 * application instance (as separate processes would be): every transaction answered once, every
 * replica swapped to each new model (the shipped ONNX and TF.js exports, under two names), a
 * replica added mid-run serving the current model from its first record. Runs against the
 * system nats-server; needs the built models in examples/fraud/models (`npm run build`).
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FraudResultSchema, TransactionRecordSchema } from '../../../examples/fraud/schemas.js';
import type { StartedApplication } from '../../../src/app.js';
import { NO_MODEL_ERROR } from '../../../src/serving/result-metadata.js';
import { root } from '../../support/cli.js';
import { tempDir } from '../../support/recommender.js';
import { ServingReplicas, stateOf } from './serving-replicas.js';
import { readStream, SYSTEM_NATS, uniqueApp, until } from './support.js';

const blueprint = fileURLToPath(new URL('./fixtures/fraud.conf', import.meta.url));
/**
 * The shipped exports share one model name (the file's base name); copied under two names, each
 * update is told apart in `/state` and in the results. Name order is publishing order.
 */
const fraudModels = [
  { name: 'fraud-a-onnx', file: 'fraud-autoencoder.onnx', extension: 'onnx' },
  { name: 'fraud-b-tfjs', file: 'fraud-autoencoder.tfjs', extension: 'tfjs' },
] as const;
const last = fraudModels[fraudModels.length - 1]?.name;
let nc: NatsConnection;
let models: string;
let instances: ServingReplicas;

beforeAll(async () => {
  nc = await connect({ servers: SYSTEM_NATS });
  models = tempDir('sluice-nats-fraud-models-');
  mkdirSync(models, { recursive: true });
  for (const m of fraudModels) copyFileSync(join(root, 'examples', 'fraud', 'models', m.file), join(models, `${m.name}.${m.extension}`));
  instances = new ServingReplicas(blueprint, models);
});

afterAll(async () => {
  await instances.stopAll();
  await nc.close();
  rmSync(models, { recursive: true, force: true });
});

describe.each([2, 4])('fraud model serving on JetStream with %i replicas', (replicas) => {
  it('answers every transaction exactly once, swaps every replica to each model, and a replica added mid-run serves the current model at once', async () => {
    const app = uniqueApp(`fraud${replicas}`);
    const servers: StartedApplication[] = [];
    for (let i = 0; i < replicas; i++) servers.push(await instances.start(app, ['model-serving']));
    // Two models, 2 s apart, no cycling. Transactions flow until every swap was seen (however
    // long a loaded machine takes to load the TF.js model); then the source stops, and what it
    // stored is what must come out. No missing fields: the only error results are those scored
    // before the first model arrived.
    const source = await instances.start(
      app,
      ['transactions', 'model-ingress'],
      'transactions.records-per-second=500',
      'transactions.missing-fraction=0',
      'model-ingress.interval=2s',
      'model-ingress.cycle=false',
    );
    await until('every replica on the last model', () => servers.every((s) => stateOf(s)?.name === last));

    const late = await instances.start(app, ['model-serving']);
    // It learns the current model before scoring anything: never a record without a model.
    await until('the late replica on the last model', () => stateOf(late)?.name === last);

    // Some transactions made after every replica swapped: the last model must have answered them.
    const jsm = await jetstreamManager(nc);
    const stored = async () => (await jsm.streams.info(`sluice_${app}_transactions`)).state.messages;
    const swapped = await stored();
    await until('transactions after the last swap', async () => (await stored()) >= swapped + 200);
    await source.stop();
    // A publish the broker received as the source stopped may still be stored: wait for a count that holds.
    let settled = -1;
    await until('the transactions stream settled', async () => {
      const now = await stored();
      const same = now === settled;
      settled = now;
      if (!same) await sleep(300);
      return same;
    });

    const transactions = await readStream(nc, `sluice_${app}_transactions`, TransactionRecordSchema);
    const count = transactions.length;
    const sent = transactions.map((t) => t.value.id);
    expect(count).toBeGreaterThan(200);
    expect(new Set(sent).size).toBe(count);
    await until('every transaction answered', async () => (await jsm.streams.info(`sluice_${app}_scored`)).state.messages >= count);
    // Anything stored twice would arrive now.
    await sleep(500);
    const scored = await readStream(nc, `sluice_${app}_scored`, FraudResultSchema);
    const ids = scored.map((s) => s.value.inputRecord.id);
    expect(scored).toHaveLength(count);
    expect(new Set(ids).size).toBe(count);
    expect([...ids].sort((x, y) => x - y)).toEqual([...sent].sort((x, y) => x - y));
    const unexpected = scored.filter((s) => s.value.verdict === 'error' && s.value.modelResultMetadata.errors !== NO_MODEL_ERROR);
    expect(unexpected.map((s) => s.value.modelResultMetadata.errors)).toEqual([]);

    for (const server of servers) expect(stateOf(server)?.updates.accepted).toBe(fraudModels.length);
    expect(stateOf(late)).toMatchObject({ name: last, recordsWithoutModel: 0, updates: { accepted: 1 } });
    const byModel = new Set(scored.filter((s) => s.value.verdict !== 'error').map((s) => s.value.modelResultMetadata.modelName));
    expect([...byModel].sort()).toEqual(fraudModels.map((m) => m.name));
  }, 90_000);
});
