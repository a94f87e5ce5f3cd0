import { describe, expect, it } from 'vitest';
import { SluiceProcess } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';

describe('the fraud example, run by the sluice CLI', () => {
  it('flags fraud and reports precision and recall above 0.9 against the generator labels', async () => {
    const app = new SluiceProcess([
      'run',
      'examples/fraud/fraud.conf',
      'sluice.http.port=0',
      `sluice.state-directory=${tempDir()}`,
      'transaction-ingress.records-per-second=2000',
      'transaction-ingress.max-records=10000',
      'transaction-ingress.seed=7',
      'console.report-every=10000',
    ]);
    let summary: RegExpMatchArray;
    try {
      summary = await app.waitFor(/^summary records=10000 scored=(\d+) .*precision=([\d.]+) recall=([\d.]+)$/m, 'stdout', 60_000);
    } finally {
      app.child.kill('SIGTERM');
    }
    expect((await app.finished()).code).toBe(0);
    // Records before the first model arrives are answered with an error, not scored.
    expect(Number(summary[1])).toBeGreaterThan(9000);
    expect(Number(summary[2])).toBeGreaterThan(0.9);
    expect(Number(summary[3])).toBeGreaterThan(0.9);
    expect(app.stdout).toMatch(/^fraud id=\d+ score=[\d.]+ threshold=0.1705 .* label=fraud model=fraud-autoencoder type=(ONNX|TENSORFLOWJS)/m);
  });
});
