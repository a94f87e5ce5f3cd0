// One recommender pipeline swapping between ONNX, TensorFlow.js and PMML models while it runs.
import { describe, expect, it } from 'vitest';
import { buildRecommenderPmml, recommenderPmmlName } from '../../examples/recommender/models/build-pmml.js';
import { buildRecommenderTfjs } from '../../examples/recommender/models/build-tfjs.js';
import { ModelServing } from '../../examples/recommender/streamlets.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { startStreamlet } from '../../src/testkit.js';
import { recommenderDescriptor, recommenderRecord, results, tempDir } from '../support/recommender.js';

async function formats(): Promise<ModelDescriptor[]> {
  return [
    recommenderDescriptor('recommender-a'),
    {
      modelName: 'recommender-tfjs',
      description: 'TF.js recommender',
      modelType: 'TENSORFLOWJS',
      modelBytes: Buffer.from(await buildRecommenderTfjs()),
      modelSourceLocation: null,
    },
    {
      modelName: recommenderPmmlName,
      description: 'PMML recommender',
      modelType: 'PMML',
      modelBytes: Buffer.from(buildRecommenderPmml()),
      modelSourceLocation: null,
    },
  ];
}

describe('swapping across model formats under load', () => {
  it('loses and repeats nothing, and tags every result with the model that scored it', async () => {
    const models = await formats();
    const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() }, config: { 'batch-size': 64 } });
    const total = 12_000;
    const chunk = 200;
    const swapEvery = 1_000;
    try {
      for (let sent = 0; sent < total; sent += chunk) {
        if (sent % swapEvery === 0) {
          // ONNX → TF.js → PMML → ONNX ..., each update sent while records keep flowing.
          await h.send('in-1', [models[(sent / swapEvery) % models.length] as ModelDescriptor]);
        }
        await h.send(
          'in-0',
          Array.from({ length: chunk }, (_, i) => recommenderRecord(sent + i)),
        );
      }
      await h.until(() => h.outputs('out').length >= total, 60_000);
    } finally {
      await h.stop();
    }
    const out = results(h.outputs('out'));
    expect(out).toHaveLength(total);
    expect(out.map((r) => Number(r.inputRecord.datatype.slice(4)))).toEqual(Array.from({ length: total }, (_, i) => i));
    const scored = out.filter((r) => r.modelResultMetadata.errors === '');
    // Before the first model is installed, records are answered without a model; after it, every one is scored.
    expect(out.slice(out.indexOf(scored[0] as (typeof out)[number])).every((r) => r.modelResultMetadata.errors === '')).toBe(true);
    const byModel = new Map<string, string>();
    for (const r of scored) byModel.set(r.modelResultMetadata.modelName, r.modelResultMetadata.source);
    expect([...byModel.entries()].sort()).toEqual([
      ['recommender-a', 'ONNX embedded'],
      ['recommender-pmml', 'PMML embedded'],
      ['recommender-tfjs', 'TENSORFLOWJS embedded'],
    ]);
    for (const r of scored) {
      expect(r.modelResult.probabilities).toHaveLength(r.inputRecord.products.length);
      for (const p of r.modelResult.probabilities) expect(p > 0 && p < 1).toBe(true);
    }
  });
});
