/**
 * The recommender example's PMML model, served by the PMML executor through the recommender
 * adapter. Expected scores come from `scoreRecommenderPmml`, which evaluates the model's
 * specification directly in plain JS (a second method, not the executor). Tolerance: 1e-6
 * relative (float32 outputs).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recommenderAdapter } from '../../../examples/recommender/adapter.js';
import {
  buildRecommenderPmml,
  recommenderPmmlName,
  recommenderPmmlSpec,
  scoreRecommenderPmml,
  writeRecommenderPmml,
} from '../../../examples/recommender/models/build-pmml.js';
import { productCount, userCount } from '../../../examples/recommender/models/build-models.js';
import type { RecommenderRecord } from '../../../examples/recommender/schemas.js';
import { seededRandom } from '../../../src/util/random.js';
import { expectNear, load } from './support.js';

function records(count: number, seed: number): RecommenderRecord[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    user: Math.floor(random() * userCount),
    products: Array.from({ length: 1 + Math.floor(random() * 30) }, () => Math.floor(random() * productCount)),
    datatype: 'recommender',
  }));
}

describe('recommender PMML model', () => {
  it('builds the same document every time', () => {
    expect(buildRecommenderPmml()).toBe(buildRecommenderPmml());
  });

  it('fits the recommender adapter and scores a batch like its reference', async () => {
    const model = await load(buildRecommenderPmml(), recommenderPmmlName);
    expect(recommenderAdapter.check(model.metadata())).toEqual([]);
    const batch = records(64, 11);
    const outputs = await model.infer(recommenderAdapter.toInputs(batch));
    const spec = recommenderPmmlSpec();
    const expected = batch.flatMap((r) => r.products.map((p) => scoreRecommenderPmml(spec, r.user, p)));
    const predictions = Array.from(outputs['predictions']?.data as Float32Array);
    expectNear(predictions, expected);
    expect(predictions.every((p) => p > 0 && p < 1)).toBe(true);

    const results = recommenderAdapter.fromOutputs(batch, outputs);
    expect(results).toHaveLength(batch.length);
    expect(results[0]?.products).toEqual(batch[0]?.products.map(String));
    expectNear(results[0]?.probabilities ?? [], expected.slice(0, batch[0]?.products.length));
  });

  it('prefers products of the user’s own band', async () => {
    const model = await load(buildRecommenderPmml());
    // User 100 is in band 0 (users 0–249); products 0–74 are band 0, 150–224 band 2.
    const own = Array.from({ length: 75 }, (_, i) => i);
    const other = Array.from({ length: 75 }, (_, i) => 150 + i);
    const mean = async (products: number[]): Promise<number> => {
      const out = await model.infer(recommenderAdapter.toInputs([{ user: 100, products, datatype: 'recommender' }]));
      const scores = Array.from(out['predictions']?.data as Float32Array);
      return scores.reduce((a, b) => a + b, 0) / scores.length;
    };
    expect(await mean(own)).toBeGreaterThan((await mean(other)) + 0.3);
  });

  it('writes the model and its description sidecar', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-pmml-models-'));
    try {
      const written = await writeRecommenderPmml(dir);
      expect(written.map((p) => p.slice(dir.length + 1))).toEqual(['recommender-pmml.pmml', 'recommender-pmml.json']);
      expect(await readFile(join(dir, 'recommender-pmml.pmml'), 'utf8')).toBe(buildRecommenderPmml());
      const sidecar = JSON.parse(await readFile(join(dir, 'recommender-pmml.json'), 'utf8')) as { description: string };
      expect(sidecar.description).toMatch(/Recommender PMML/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
