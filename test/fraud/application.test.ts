/**
 * The fraud application as a user runs it — examples/fraud/fraud.conf with the shipped model
 * files — in-process on the local runtime: the run must print precision and recall.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runApplication, type StartedApplication } from '../../src/app.js';
import { root } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';
import { parseSummary } from './support.js';

let app: StartedApplication | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
  vi.restoreAllMocks();
});

describe('the fraud application', () => {
  it('flags fraud, answers incomplete transactions with errors, and reports precision and recall above 0.9', async () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const records = 8_000;
    app = await runApplication({
      blueprint: join(root, 'examples', 'fraud', 'fraud.conf'),
      packages: { fraud: () => import('../../examples/fraud/streamlets.js') },
      overrides: [
        'sluice.http.port=0',
        `sluice.state-directory=${tempDir()}`,
        `transaction-ingress.max-records=${records}`,
        'transaction-ingress.records-per-second=4000',
        'transaction-ingress.seed=99',
        // One update: the ONNX model (first in name order) serves the whole run.
        'model-ingress.interval=1h',
        'console.report-every=2000',
      ],
      logLevel: 'silent',
    });
    const lines = () => stdout.split('\n');
    await vi.waitUntil(() => lines().some((l) => l.startsWith(`summary records=${records} `)), { timeout: 30_000, interval: 50 });
    await app.stop();
    app = undefined;

    const summaries = lines()
      .map(parseSummary)
      .filter((s) => s !== undefined);
    expect(summaries.map((s) => `${s.kind} ${s.records}`)).toEqual(['summary 2000', 'summary 4000', 'summary 6000', 'summary 8000', 'final 8000']);
    const final = summaries.at(-1);
    expect(final?.precision).toBeGreaterThan(0.9);
    expect(final?.recall).toBeGreaterThan(0.9);

    const flagged = lines().filter((l) => l.startsWith('fraud '));
    expect(flagged.length).toBeGreaterThan(40);
    for (const line of flagged)
      expect(line).toMatch(
        /^fraud id=\d+ score=\d+\.\d{4} threshold=[\d.]+ amount=(\d+\.\d{2}|null) label=(fraud|normal) model=fraud-autoencoder type=ONNX \d+\.\d{3}ms$/,
      );
    // Errors: a field missing, or (the first few records) no model yet.
    const errors = lines().filter((l) => l.startsWith('error '));
    expect(errors.some((l) => /error="cannot score the record: missing fields: [\w, ]+"$/.test(l))).toBe(true);
    expect(errors.every((l) => /error="(cannot score the record: missing fields: [\w, ]+|No model server defined)"$/.test(l))).toBe(true);
  });
});
