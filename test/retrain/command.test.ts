import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { root } from '../support/cli.js';
import type { StreamletHarness } from '../../src/testkit.js';
import { aucOn, decisions, labelled, pmmlAdapter, published, retrainOnDriftRecords, startRetrain } from './support.js';

const script = 'test/retrain/fixtures/train-logistic.mjs';
const command = (mode = '') => `"${process.execPath}" ${root}${script} {feedback} {model} ${mode}`.trim();

const running: StreamletHarness[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

/** A first model (no model yet) by the external command, from 150 feedback records. */
async function trainOnce(config: Readonly<Record<string, unknown>>) {
  const h = await startRetrain(retrainOnDriftRecords({ adapter: pmmlAdapter }), { 'min-samples': 150, 'command-model-type': 'PMML', ...config });
  running.push(h);
  await h.send('feedback', labelled(150, { shifted: false, seed: 21 }));
  await h.until(() => ['PUBLISHED', 'REJECTED', 'FAILED'].includes(decisions(h).at(-1)?.outcome ?? ''), 20_000);
  return h;
}

describe('retrain streamlet with an external trainer', () => {
  it('runs the command on the feedback file and publishes the model it writes', async () => {
    const h = await trainOnce({ command: command() });
    expect(decisions(h).map((d) => d.outcome)).toEqual(['STARTED', 'TRAINED', 'PUBLISHED']);
    expect(decisions(h)[1]?.reason).toMatch(
      /^command node: PMML model written by `.*train-logistic\.mjs \{feedback\} \{model\}` from 120 records in [\d.]+ s$/,
    );
    const model = published(h)[0]!;
    expect(model).toMatchObject({ modelName: 'retrain-1', modelType: 'PMML' });
    expect(await aucOn(model, labelled(2000, { shifted: false, seed: 22 }), pmmlAdapter)).toBeGreaterThan(0.88);
    // Each run's directory is removed.
    expect(readdirSync(h.volumes.work)).toEqual([]);
  });

  it('reports a command that fails with its exit code and what it wrote on stderr; nothing is published', async () => {
    const h = await trainOnce({ command: command('--fail') });
    expect(decisions(h).map((d) => d.outcome)).toEqual(['STARTED', 'FAILED']);
    expect(decisions(h)[1]?.reason).toBe('training with command node failed: the command exited with code 3: cannot train: the feature store is unreachable');
    expect(published(h)).toEqual([]);
    expect(readdirSync(h.volumes.work)).toEqual([]);
  });

  it('kills a command that runs past command-timeout', async () => {
    const started = Date.now();
    const h = await trainOnce({ command: command('--sleep'), 'command-timeout': '300ms' });
    expect(decisions(h)[1]).toMatchObject({
      outcome: 'FAILED',
      reason: 'training with command node failed: the command ran past command-timeout (300 ms) and was killed',
    });
    // Killed, not waited for: the script would sleep a minute.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(published(h)).toEqual([]);
  });

  it('reports a command that ends well but writes no model', async () => {
    const h = await trainOnce({ command: command('--no-model') });
    expect(decisions(h)[1]?.outcome).toBe('FAILED');
    expect(decisions(h)[1]?.reason).toMatch(/^training with command node failed: the command ended well but wrote no model file at .*model\.pmml \(ENOENT/);
  });

  it('reports a program that does not exist', async () => {
    const h = await trainOnce({ command: '/no/such/trainer {feedback} {model}' });
    expect(decisions(h)[1]?.reason).toMatch(/^training with command trainer failed: cannot start the program: spawn \/no\/such\/trainer ENOENT/);
  });

  it('rejects a model the serving adapter cannot use, naming what does not fit', async () => {
    // A TF.js-shaped adapter (one `features` matrix) cannot feed a PMML model that takes one tensor per field.
    const h = await startRetrain(retrainOnDriftRecords(), { 'min-samples': 150, 'command-model-type': 'PMML', command: command() });
    running.push(h);
    await h.send('feedback', labelled(150, { shifted: false, seed: 23 }));
    await h.until(() => decisions(h).at(-1)?.outcome === 'REJECTED', 20_000);
    expect(decisions(h).at(-1)?.reason).toMatch(
      /^the candidate cannot be judged: model retrain-1 does not fit: the model has no input 'features' \(its inputs: x1, x2, x3, x4\)/,
    );
  });
});
