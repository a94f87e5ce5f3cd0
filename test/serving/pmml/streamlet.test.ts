/**
 * The PMML executor inside the recommender's model-serving streamlet (in-process testkit): a
 * PMML model installed from a descriptor scores records like its reference, a broken PMML
 * update is rejected while the current model keeps serving, and an ONNX model swaps to PMML.
 * The registry here is the test's own; the shipped one is built in src/serving/executors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { recommenderAdapter } from '../../../examples/recommender/adapter.js';
import {
  buildRecommenderPmml,
  recommenderPmmlDescription,
  recommenderPmmlName,
  recommenderPmmlSpec,
  scoreRecommenderPmml,
} from '../../../examples/recommender/models/build-pmml.js';
import { RecommenderRecordSchema, RecommenderResultSchema } from '../../../examples/recommender/schemas.js';
import { outlet } from '../../../src/core/streamlet.js';
import type { ModelDescriptor } from '../../../src/serving/descriptor.js';
import { onnxExecutor } from '../../../src/serving/executors/onnx.js';
import { pmmlExecutor } from '../../../src/serving/executors/pmml/index.js';
import { modelServing } from '../../../src/serving/model-serving.js';
import { ExecutorRegistry } from '../../../src/serving/registry.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { recommenderDescriptor, recommenderRecord, results, tempDir } from '../../support/recommender.js';

const ModelServing = modelServing({
  description: 'recommender model-serving with the PMML executor',
  data: RecommenderRecordSchema,
  result: outlet(RecommenderResultSchema, (r) => String(r.inputRecord.user)),
  adapter: recommenderAdapter,
  executors: new ExecutorRegistry().register(onnxExecutor).register(pmmlExecutor).seal(),
});

const pmmlDescriptor = (text = buildRecommenderPmml(), modelName = recommenderPmmlName): ModelDescriptor => ({
  modelName,
  description: recommenderPmmlDescription,
  modelType: 'PMML',
  modelBytes: Buffer.from(text),
  modelSourceLocation: null,
});

const harnesses: StreamletHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
});

async function start(): Promise<StreamletHarness> {
  const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() } });
  harnesses.push(h);
  return h;
}

async function install(h: StreamletHarness, descriptor: ModelDescriptor): Promise<void> {
  const before = h.committed('in-1');
  await h.send('in-1', [descriptor]);
  await h.until(() => h.committed('in-1') > before);
}

describe('PMML in the model-serving streamlet', () => {
  it('scores records with an installed PMML model', async () => {
    const h = await start();
    await install(h, pmmlDescriptor());
    await h.send(
      'in-0',
      Array.from({ length: 40 }, (_, i) => recommenderRecord(i)),
    );
    await h.until(() => h.outputs('out').length === 40);
    const spec = recommenderPmmlSpec();
    for (const r of results(h.outputs('out'))) {
      expect(r.modelResultMetadata).toMatchObject({ modelName: recommenderPmmlName, errors: '' });
      const expected = r.inputRecord.products.map((p) => scoreRecommenderPmml(spec, Number(r.inputRecord.user), Number(p)));
      r.modelResult.probabilities.forEach((p, k) => expect(Math.abs(p - (expected[k] as number))).toBeLessThanOrEqual(1e-6));
    }
    const state = (await (await fetch(`${h.url}/state`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ name: recommenderPmmlName, modelType: 'PMML', usage: 40 });
  });

  it('keeps serving when a PMML update is broken, and swaps from ONNX to PMML', async () => {
    const h = await start();
    await install(h, recommenderDescriptor('recommender-a'));
    await install(h, pmmlDescriptor('<PMML><DataDictionary/></PMML', 'broken'));
    await h.send('in-0', [recommenderRecord(1)]);
    await h.until(() => h.outputs('out').length === 1);
    expect(results(h.outputs('out'))[0]?.modelResultMetadata.modelName).toBe('recommender-a');
    const state = (await (await fetch(`${h.url}/state`)).json()) as { updates: { rejected: number; lastRejected: { reason: string }[] } };
    expect(state.updates.rejected).toBe(1);
    expect(JSON.stringify(state.updates.lastRejected)).toMatch(/not XML/);

    await install(h, pmmlDescriptor());
    await h.send('in-0', [recommenderRecord(2)]);
    await h.until(() => h.outputs('out').length === 2);
    expect(results(h.outputs('out'))[1]?.modelResultMetadata.modelName).toBe(recommenderPmmlName);
  });
});
