import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logEntries, SluiceProcess } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';

const RECORDS = 20_000;

/** `    12.03  drift detected      x1 KS ...` → kind, seconds, text. */
function timeline(stdout: string): { at: number; kind: string; text: string }[] {
  return [
    ...stdout.matchAll(
      /^ +([\d.]+) {2}(stream starts|distribution shifts|drift detected|retrain started|model published|candidate rejected|retrain failed|model serving|stream ends) *(.*)$/gm,
    ),
  ].map((m) => ({ at: Number(m[1]), kind: m[2] as string, text: m[3] as string }));
}

function phase(stdout: string, name: string): { records: number; accuracy: number; auc: number } {
  const m = new RegExp(`^quality phase=${name} records=(\\d+) accuracy=([\\d.]+) auc=([\\d.]+)$`, 'm').exec(stdout);
  if (!m) throw new Error(`no quality line for ${name} in\n${stdout}`);
  return { records: Number(m[1]), accuracy: Number(m[2]), auc: Number(m[3]) };
}

describe('the drift example, run by the sluice CLI', () => {
  it('detects the shift, retrains on the delayed labels, validates and swaps: quality drops and recovers, and no record is lost or scored twice', async () => {
    const dir = tempDir('sluice-drift-');
    const holdout = join(dir, 'holdout.jsonl');
    const plot = join(dir, 'quality.svg');
    const app = new SluiceProcess([
      'run',
      'examples/drift/drift.conf',
      '--log-format',
      'json',
      'sluice.http.port=0',
      `sluice.state-directory=${dir}`,
      'generator.records-per-second=1000',
      `generator.max-records=${RECORDS}`,
      'generator.duration=0',
      'generator.shift-after=12s',
      `retrain.holdout-file=${holdout}`,
      `model-serving.validation-set=${holdout}`,
      `quality.plot-file=${plot}`,
    ]);
    // The run ends by itself once the generator is done and the last labels are in.
    const run = await app.finished(90_000);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);

    // Every record answered exactly once, across the swaps (ids 1..N, none twice).
    expect(run.stdout).toMatch(
      new RegExp(`^records labels=${RECORDS} results=${RECORDS} distinct=${RECORDS} duplicates=0 missing=0 unscored=\\d+ unmatched=0$`, 'm'),
    );

    const events = timeline(run.stdout);
    const first = (kind: string, after = -1) => events.find((e) => e.kind === kind && e.at > after);
    const shift = first('distribution shifts');
    expect(shift?.at).toBeGreaterThanOrEqual(11.9);
    const detected = first('drift detected', shift?.at);
    const retrain = events.find((e) => e.kind === 'retrain started' && e.at >= (detected?.at ?? Infinity) && e.text.startsWith('DRIFT'));
    const publishedAfter = first('model published', retrain?.at);
    expect(detected, run.stdout).toBeDefined();
    expect(retrain, run.stdout).toBeDefined();
    expect(publishedAfter?.text).toMatch(/^drift-model-\d+: auc 0\.\d+ against 0\.\d+ of drift-model-\d+ \(margin 0\)$/);
    const newModel = publishedAfter?.text.split(':')[0];
    const serving = events.find((e) => e.kind === 'model serving' && e.text === newModel);
    expect(serving?.at).toBeGreaterThanOrEqual(publishedAfter?.at ?? Infinity);

    const before = phase(run.stdout, 'before-shift');
    const oldModel = phase(run.stdout, 'after-shift-old-model');
    const recovered = phase(run.stdout, 'after-shift-new-model');
    // The world's own best: AUC 0.93, accuracy 0.85 on either side of the shift; the old model after it: 0.57 and 0.55.
    expect(before.auc).toBeGreaterThan(0.88);
    expect(oldModel.auc).toBeLessThan(0.7);
    expect(oldModel.accuracy).toBeLessThan(0.65);
    expect(recovered.auc).toBeGreaterThan(0.85);
    expect(recovered.accuracy).toBeGreaterThan(0.78);
    expect(recovered.records).toBeGreaterThan(1000);

    // Model-serving's own gate checked each model again on the held-out records the retrain wrote.
    const logs = logEntries(run.stderr);
    const passed = logs.filter((l) => l.msg === 'model passed validation').map((l) => l.model);
    expect(passed).toContain(newModel);
    expect(logs.filter((l) => l.msg === 'model swapped').map((l) => l.model)).toContain(newModel);

    const svg = readFileSync(plot, 'utf8');
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(run.stdout).toContain(`plot ${plot}`);
  }, 100_000);
});
