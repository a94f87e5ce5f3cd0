/**
 * The shipped fraud model in both formats, through the fraud model-serving streamlet with the
 * ONNX and TF.js executors: the same transactions get the same verdicts whichever format serves,
 * and a swap from one to the other and back loses nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionGenerator } from '../../examples/fraud/generator.js';
import { fraudModelServing } from '../../examples/fraud/model-serving.js';
import { FRAUD_MODEL_NAME } from '../../examples/fraud/models/train.js';
import type { FraudResult, TransactionRecord } from '../../examples/fraud/schemas.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { onnxExecutor } from '../../src/serving/executors/onnx.js';
import { tfjsExecutor } from '../../src/serving/executors/tfjs/index.js';
import { ExecutorRegistry } from '../../src/serving/registry.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { root } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';

const models = join(root, 'examples', 'fraud', 'models');
const shipped = (extension: 'onnx' | 'tfjs', modelType: ModelDescriptor['modelType']): ModelDescriptor => ({
  modelName: `${FRAUD_MODEL_NAME}-${extension}`,
  description: `the shipped ${extension} export`,
  modelType,
  modelBytes: readFileSync(join(models, `${FRAUD_MODEL_NAME}.${extension}`)),
  modelSourceLocation: null,
});

describe('the shipped fraud model, as ONNX and as TF.js', () => {
  const chunk = 2_000;
  const generator = new TransactionGenerator({ seed: 515, fraudFraction: 0.05, missingFraction: 0.01 });
  const records: TransactionRecord[] = Array.from({ length: 4 * chunk }, () => generator.next());
  let harness: StreamletHarness;
  let results: FraudResult[];

  beforeAll(async () => {
    const executors = new ExecutorRegistry().register(onnxExecutor).register(tfjsExecutor).seal();
    harness = await startStreamlet(fraudModelServing(executors), { name: 'model-serving', volumes: { models: tempDir() } });
    const sequence = [shipped('onnx', 'ONNX'), shipped('tfjs', 'TENSORFLOWJS'), shipped('onnx', 'ONNX'), shipped('tfjs', 'TENSORFLOWJS')];
    // Each quarter of the records is scored by the model installed before it.
    for (const [i, descriptor] of sequence.entries()) {
      await harness.send('in-1', [descriptor]);
      await harness.until(() => harness.committed('in-1') === i + 1);
      await harness.send('in-0', records.slice(i * chunk, (i + 1) * chunk));
      await harness.until(() => harness.outputs('out').length === (i + 1) * chunk, 30_000);
    }
    results = harness.outputs('out') as FraudResult[];
  }, 60_000);
  afterAll(() => harness?.stop());

  it('serves both formats: every record answered once, in order, by the model installed before it', () => {
    expect(results.map((r) => r.inputRecord.id)).toEqual(records.map((r) => r.id));
    const served = results.map((r) => r.modelResultMetadata.modelName);
    const expected = ['onnx', 'tfjs', 'onnx', 'tfjs'].flatMap((format) => Array<string>(chunk).fill(`${FRAUD_MODEL_NAME}-${format}`));
    // Records with a missing field too: their error result names the model that was serving.
    expect(served).toEqual(expected);
    expect(results.filter((r) => r.verdict === 'error').length).toBeGreaterThan(40);
  });

  it('gives the same scores (within 1e-4 relative) and verdicts whichever format serves', async () => {
    // Score the first quarter again with TF.js: the same records, the other format.
    const before = results.length;
    await harness.send('in-0', records.slice(0, chunk));
    await harness.until(() => harness.outputs('out').length === before + chunk, 30_000);
    const again = (harness.outputs('out') as FraudResult[]).slice(before);
    results.slice(0, chunk).forEach((onnx, i) => {
      const tfjs = again[i] as FraudResult;
      expect(tfjs.modelResultMetadata.source).toBe('TENSORFLOWJS embedded');
      expect(onnx.modelResultMetadata.source).toBe('ONNX embedded');
      expect(tfjs.verdict).toBe(onnx.verdict);
      if (onnx.score === null) expect(tfjs.score).toBeNull();
      else expect(Math.abs((tfjs.score as number) - onnx.score)).toBeLessThanOrEqual(1e-6 + 1e-4 * onnx.score);
    });
  });
});
