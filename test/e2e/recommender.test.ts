import { describe, expect, it } from 'vitest';
import { logEntries, SluiceProcess, until } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';

const blueprint = 'examples/recommender/recommender.conf';
const resultLine = /^user=(\d+) model=(recommender-(?:a|b|tfjs|pmml)) products=(\d+) top=\[[^\]]*\] [\d.]+ms$/;

async function state(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/state`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('the recommender demo, run by the sluice CLI', () => {
  it('scores records, swaps across ONNX, PMML and TF.js models and back, and reports the serving model at /state', async () => {
    const stateDir = tempDir();
    const app = new SluiceProcess([
      'run',
      blueprint,
      'sluice.http.port=0',
      `sluice.state-directory=${stateDir}`,
      'model-ingress.interval=400ms',
      'data-ingress.records-per-second=300',
    ]);
    try {
      const url = await app.url();
      await until(() => (app.stderr.match(/"msg":"model swapped"/g) ?? []).length >= 5);
      // The models of the folder in name order: a, b (ONNX), pmml (PMML), tfjs (TF.js), then a again.
      const models = () => [...app.stdout.matchAll(/model=(recommender-[\w-]+)/g)].map((m) => m[1]);
      const order = () => models().filter((m, i, all) => i === 0 || m !== all[i - 1]);
      await until(() => order().length >= 5);
      expect(order().slice(0, 5)).toEqual(['recommender-a', 'recommender-b', 'recommender-pmml', 'recommender-tfjs', 'recommender-a']);
      const s = await state(url);
      expect(['recommender-a', 'recommender-b', 'recommender-pmml', 'recommender-tfjs']).toContain(s.name);
      expect(s.since).toBeGreaterThan(Date.now() - 60_000);
      for (const key of ['usage', 'min', 'max', 'averageDuration']) expect(typeof s[key]).toBe('number');
      expect(s.max as number).toBeGreaterThanOrEqual(s.min as number);
    } finally {
      app.child.kill('SIGTERM');
      const done = await app.finished();
      expect(done.code).toBe(0);
    }
    const lines = app.stdout.trim().split('\n');
    const scored = lines.filter((l) => resultLine.test(l));
    // Every line is a result: scored, or answered before the first model arrived.
    expect(lines.filter((l) => !resultLine.test(l)).every((l) => l.includes('error="No model server defined"'))).toBe(true);
    expect(scored.length).toBeGreaterThan(100);
  });

  it('restores the persisted model on restart: the first record is scored by it', async () => {
    const stateDir = tempDir();
    const common = ['run', blueprint, 'sluice.http.port=0', `sluice.state-directory=${stateDir}`, 'data-ingress.records-per-second=100'];
    const first = new SluiceProcess([...common, 'model-ingress.interval=300ms']);
    await first.waitFor(/model=recommender-b/);
    first.child.kill('SIGTERM');
    expect((await first.finished()).code).toBe(0);
    expect(first.stderr).toMatch(/SIGTERM received, draining in-flight work/);
    const persisted = logEntries(first.stderr)
      .filter((entry) => entry.msg === 'model swapped')
      .map((entry) => entry.model)
      .at(-1);
    expect(persisted).toMatch(/^recommender-(a|b|pmml|tfjs)$/);

    // No model update arrives for an hour: whatever scores the first record was restored from the volume.
    const second = new SluiceProcess([...common, 'model-ingress.initial-delay=1h']);
    try {
      const firstLine = (await second.waitFor(/^.+$/m))[0];
      expect(firstLine).toMatch(resultLine);
      expect(firstLine).toContain(`model=${persisted}`);
      expect(second.stderr).toMatch(/"msg":"restored the persisted model"/);
    } finally {
      second.child.kill('SIGTERM');
      expect((await second.finished()).code).toBe(0);
    }
  });
});
