/** The PMML executor as Sluice uses it: descriptors, metadata, tensor checks, unload. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pmmlExecutor } from '../../../src/serving/executors/pmml/index.js';
import { tensor } from '../../../src/serving/tensor.js';
import { descriptor, edited, expectNear, fixture, inputs, load, score, sluiceError } from './support.js';

describe('pmmlExecutor', () => {
  it('serves the PMML model type', () => {
    expect(pmmlExecutor.modelType).toBe('PMML');
  });

  it('reports one input per active MiningField and the regression output', async () => {
    const model = await load(fixture('linear-regression.pmml'));
    expect(model.metadata()).toEqual({
      inputs: [
        { name: 'area', dtype: 'float32', shape: [-1, 1] },
        { name: 'rooms', dtype: 'float32', shape: [-1, 1] },
        { name: 'district', dtype: 'string', shape: [-1, 1] },
        { name: 'age', dtype: 'float32', shape: [-1, 1] },
      ],
      outputs: [{ name: 'predictions', dtype: 'float32', shape: [-1, 1] }],
    });
  });

  it('reports predictions, label, one probability per class and the final OutputFields of a classifier', async () => {
    const model = await load(fixture('logistic-regression.pmml'));
    expect(model.metadata().outputs.map((o) => `${o.name}:${o.dtype}`)).toEqual([
      'predictions:float32',
      'label:string',
      'probability_0:float32',
      'probability_1:float32',
      'probability(0):float32',
      'probability(1):float32',
      'predicted_churn:float32',
    ]);
  });

  it('lets an OutputField named like a built-in tensor replace it', async () => {
    const model = await load(edited('logistic-regression.pmml', ['name="probability(0)"', 'name="predictions"']));
    expect(model.metadata().outputs.map((o) => o.name)).toEqual([
      'predictions',
      'label',
      'probability_0',
      'probability_1',
      'probability(1)',
      'predicted_churn',
    ]);
    const out = await score(model, { tenure: [10], charges: [70], contract: ['monthly'] });
    expectNear(out['predictions'], [1 - 1 / (1 + Math.exp(-0.6))]); // now P(0)
  });

  it('loads from a local path and from a file:// URL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-pmml-'));
    try {
      const path = join(dir, 'model.pmml');
      await writeFile(path, fixture('select-first.pmml'));
      for (const location of [path, pathToFileURL(path).href]) {
        const model = await pmmlExecutor.load(descriptor('from-file', null, location));
        expectNear((await score(model, { region: ['north'], x: [5] }))['predictions'], [20]);
      }
      await expect(pmmlExecutor.load(descriptor('gone', null, join(dir, 'missing.pmml')))).rejects.toEqual(
        sluiceError('SLUICE_ERR_MODEL_INVALID', 'cannot read model file'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects descriptors without a model', async () => {
    await expect(pmmlExecutor.load(descriptor('empty', null))).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', 'model empty cannot be loaded: the descriptor has neither model bytes nor a modelSourceLocation'),
    );
    await expect(pmmlExecutor.load(descriptor('remote', null, 's3://bucket/model.pmml'))).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', "unsupported modelSourceLocation 's3://bucket/model.pmml'"),
    );
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(pmmlExecutor.load(descriptor('m', fixture('select-first.pmml')), { signal: controller.signal })).rejects.toThrow('stop');
  });

  it('checks the input tensors', async () => {
    const model = await load(fixture('select-first.pmml'), 'regions');
    await expect(model.infer(inputs({ x: [1] }))).rejects.toEqual(
      sluiceError(
        'SLUICE_ERR_INFERENCE_FAILED',
        "inference with model regions failed: missing input 'region': the model takes 'region', 'x', the batch has 'x'",
      ),
    );
    await expect(model.infer(inputs({ region: [1], x: [1] }))).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', "input 'region' is float64 but the model expects string (its DataField is categorical string)"),
    );
    await expect(model.infer({ region: tensor('string', [1, 1], ['north']), x: tensor('float32', [1, 2], Float32Array.from([1, 2])) })).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', "input 'x' has shape [1,2]; a PMML field takes one value per row"),
    );
    await expect(model.infer({ region: tensor('string', [2, 1], ['a', 'b']), x: tensor('float32', [1, 1], Float32Array.from([1])) })).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', "input 'x' has 1 rows, but 'region' has 2"),
    );
  });

  it('accepts rank-1 tensors and other numeric dtypes, and scores an empty batch', async () => {
    const model = await load(fixture('select-first.pmml'));
    const out = await model.infer({ region: tensor('string', [2], ['north', 'south']), x: tensor('int32', [2], Int32Array.from([5, 50])) });
    expect(out['predictions']?.shape).toEqual([2, 1]);
    expectNear(Array.from(out['predictions']?.data as Float32Array), [20, 25]);
    const empty = await model.infer({ region: tensor('string', [0, 1], []), x: tensor('float32', [0, 1], new Float32Array(0)) });
    expect(Object.fromEntries(Object.entries(empty).map(([k, t]) => [k, t.shape]))).toEqual({ predictions: [0, 1], predicted_sales: [0, 1], doubled: [0, 1] });
  });

  it('scores nothing once unloaded', async () => {
    const model = await load(fixture('select-first.pmml'), 'gone');
    await model.unload();
    await expect(score(model, { region: ['north'], x: [1] })).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', 'inference with model gone failed: the model has been unloaded'),
    );
  });

  it('keeps rows independent: a derived value of one row never leaks into the next', async () => {
    const model = await load(fixture('transformations.pmml'));
    const single = async (i: number): Promise<number> => {
      const out = await score(model, { age: [[40, null][i] ?? null], income: [3000], city: ['lyon'], gender: ['m'] });
      return out['out_age_norm']?.[0] as number;
    };
    const both = await score(model, { age: [40, null], income: [3000, 3000], city: ['lyon', 'lyon'], gender: ['m', 'm'] });
    expectNear(both['out_age_norm'], [await single(0), await single(1)]);
    expect(both['out_age_norm']?.[1]).toBeNaN();
  });
});
