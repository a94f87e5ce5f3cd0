import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { modelIngress } from '../../src/serving/model-ingress.js';
import { startStreamlet } from '../../src/testkit.js';
import { tempDir } from '../support/recommender.js';

describe('the model ingress', () => {
  it('publishes every model file of its folder in name order, typed by extension, with sidecar descriptions', async () => {
    const folder = tempDir();
    writeFileSync(join(folder, 'b.pmml'), '<PMML/>');
    writeFileSync(join(folder, 'a.onnx'), Buffer.from([1, 2, 3]));
    writeFileSync(join(folder, 'a.json'), JSON.stringify({ description: 'model A' }));
    writeFileSync(join(folder, 'c.tfjs'), Buffer.from([4]));
    writeFileSync(join(folder, 'notes.txt'), 'not a model');
    const h = await startStreamlet(modelIngress(folder), { config: { interval: '1ms', cycle: false } });
    await h.until(() => h.outputs('out').length === 3);
    await h.stop();
    const published = h.outputs('out') as ModelDescriptor[];
    expect(published.map((d) => [d.modelName, d.modelType, d.description])).toEqual([
      ['a', 'ONNX', 'model A'],
      ['b', 'PMML', 'b from b.pmml'],
      ['c', 'TENSORFLOWJS', 'c from c.tfjs'],
    ]);
    expect(published[0]?.modelBytes).toEqual(Buffer.from([1, 2, 3]));
  });

  it('cycles through the models again', async () => {
    const folder = tempDir();
    writeFileSync(join(folder, 'only.onnx'), Buffer.from([1]));
    const h = await startStreamlet(modelIngress(folder), { config: { interval: '1ms' } });
    await h.until(() => h.outputs('out').length >= 3);
    await h.stop();
    expect((h.outputs('out') as ModelDescriptor[]).slice(0, 3).map((d) => d.modelName)).toEqual(['only', 'only', 'only']);
  });

  it('fails, saying where it looked, when the folder holds no model', async () => {
    const folder = tempDir();
    const h = await startStreamlet(modelIngress(folder));
    const outcome = await h.app.finished;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.message).toBe(`streamlet streamlet failed: no model files (.onnx, .pmml, .tfjs) in ${folder}`);
  });
});
