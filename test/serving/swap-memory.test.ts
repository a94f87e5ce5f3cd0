// 1,000 swaps per executor: sessions, tensors and parsed documents are released, memory stays flat.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildRecommenderPmml } from '../../examples/recommender/models/build-pmml.js';
import { buildRecommenderTfjs } from '../../examples/recommender/models/build-tfjs.js';
import { ModelServing } from '../../examples/recommender/streamlets.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { onnxExecutor } from '../../src/serving/executors/onnx.js';
import { startStreamlet } from '../../src/testkit.js';
import { recommenderDescriptor, recommenderRecord, tempDir } from '../support/recommender.js';

const SWAPS = 1_000;

/**
 * Swaps `swaps` times, one record scored after each swap, and returns how much memory grew over
 * the second half: the first half warms up allocators and the JIT, and lets the process's
 * resident size reach its plateau (freed buffers are not always returned to the system).
 * A leaked onnxruntime session costs about 160 KB, so 500 of them would show as 80 MB.
 */
async function swapMany(descriptors: readonly ModelDescriptor[], swaps: number): Promise<{ heapGrowthMB: number; rssGrowthMB: number }> {
  const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() } });
  const round = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++) {
      // Two versions alternate, so every update really replaces the serving model.
      await h.send('in-1', [{ ...(descriptors[i % descriptors.length] as ModelDescriptor), modelName: `m-${i % 2}` }]);
      await h.send('in-0', [recommenderRecord(i)]);
    }
    await h.until(() => h.committed('in-1') === from + count && h.outputs('out').length === from + count, 60_000);
  };
  const measure = () => {
    global.gc?.();
    return process.memoryUsage();
  };
  try {
    await round(0, swaps / 2);
    const before = measure();
    await round(swaps / 2, swaps / 2);
    const after = measure();
    return { heapGrowthMB: (after.heapUsed - before.heapUsed) / 1e6, rssGrowthMB: (after.rss - before.rss) / 1e6 };
  } finally {
    await h.stop();
  }
}

describe(`${SWAPS} model swaps`, () => {
  it('ONNX: every onnxruntime session is released (and memory stays flat)', async () => {
    const open = onnxExecutor.openSessions;
    const growth = await swapMany([recommenderDescriptor('recommender-a')], SWAPS);
    // The streamlet stopped: the model it served is closed too.
    expect(onnxExecutor.openSessions).toBe(open);
    expect(growth.rssGrowthMB).toBeLessThan(40);
    expect(growth.heapGrowthMB).toBeLessThan(20);
  });

  it('TensorFlow.js: every tensor is disposed (tf.memory() back to its baseline)', async () => {
    const bytes = Buffer.from(await buildRecommenderTfjs());
    const baseline = tf.memory().numTensors;
    const growth = await swapMany([{ modelName: 'tfjs', description: '', modelType: 'TENSORFLOWJS', modelBytes: bytes, modelSourceLocation: null }], SWAPS);
    expect(tf.memory().numTensors).toBe(baseline);
    expect(growth.heapGrowthMB).toBeLessThan(20);
  });

  it('PMML: compiled models are dropped (memory stays flat)', async () => {
    const bytes = Buffer.from(buildRecommenderPmml());
    const growth = await swapMany([{ modelName: 'pmml', description: '', modelType: 'PMML', modelBytes: bytes, modelSourceLocation: null }], SWAPS);
    expect(growth.heapGrowthMB).toBeLessThan(20);
  });
});
