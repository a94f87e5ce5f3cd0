/**
 * RegressionModel: expected values are the model's formula written out by hand for each row
 * (coefficients copied from the fixture), not produced by the executor. Tolerance: support.ts.
 */
import { describe, expect, it } from 'vitest';
import { edited, expectNear, fixture, load, score, sigmoid, sluiceError, softmax } from './support.js';

describe('RegressionModel (regression)', () => {
  it('scores numeric, squared, categorical and interaction terms, then applies Targets', async () => {
    const model = await load(fixture('linear-regression.pmml'));
    const out = await score(model, {
      area: [100, 50, 80.5, 100, null],
      rooms: [3, 2, 1, 3, 3],
      district: ['center', 'south', 'north', '', 'north'],
      age: [4, 10, 0.25, 4, 1],
    });
    // y = 12.5 + 1.75·area + 0.01·area² − 3·rooms + district + 0.5·rooms·age, then y·0.5 + 10.
    expectNear(out['predictions'], [
      (12.5 + 1.75 * 100 + 0.01 * 100 ** 2 - 3 * 3 + 15.25 + 0.5 * 3 * 4) * 0.5 + 10, // 159.875
      (12.5 + 1.75 * 50 + 0.01 * 50 ** 2 - 3 * 2 - 8 + 0.5 * 2 * 10) * 0.5 + 10, // 70.5
      (12.5 + 1.75 * 80.5 + 0.01 * 80.5 ** 2 - 3 * 1 + 0 + 0.5 * 1 * 0.25) * 0.5 + 10, // 117.65125
      // A missing categorical input contributes nothing.
      (12.5 + 1.75 * 100 + 0.01 * 100 ** 2 - 3 * 3 + 0.5 * 3 * 4) * 0.5 + 10, // 152.25
      // A missing numeric input makes the prediction missing.
      NaN,
    ]);
  });

  it('gives the same scores from float32 inputs, the tensor type its metadata announces', async () => {
    const model = await load(fixture('linear-regression.pmml'));
    const out = await score(model, { area: [100, 80.5], rooms: [3, 1], district: ['center', 'north'], age: [4, 0.25] }, 'float32');
    expectNear(out['predictions'], [159.875, 117.65125]);
  });

  it('fails the row of an undeclared category or a fractional integer under returnInvalid', async () => {
    const model = await load(fixture('linear-regression.pmml'));
    await expect(score(model, { area: [1, 1], rooms: [1, 1], district: ['north', 'west'], age: [1, 1] })).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', 'row 1', "field 'district' has the invalid value 'west'", 'returnInvalid'),
    );
    await expect(score(model, { area: [1], rooms: [2.5], district: ['north'], age: [1] })).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', 'row 0', "field 'rooms' has the invalid value 2.5"),
    );
  });

  it('applies each normalizationMethod of a regression table', async () => {
    const model = (method: string): Promise<ReturnType<typeof load> extends Promise<infer M> ? M : never> =>
      load(`<PMML version="4.4"><DataDictionary><DataField name="x" optype="continuous" dataType="double"/></DataDictionary>
        <RegressionModel functionName="regression" normalizationMethod="${method}"><MiningSchema><MiningField name="x"/></MiningSchema>
        <RegressionTable intercept="0.5"><NumericPredictor name="x" coefficient="1"/></RegressionTable></RegressionModel></PMML>`);
    const xs = { x: [0.25, -2.5, 3] }; // y = x + 0.5 = 0.75, −2, 3.5
    const ys = [0.75, -2, 3.5];
    expectNear((await score(await model('none'), xs))['predictions'], ys);
    expectNear((await score(await model('logit'), xs))['predictions'], ys.map(sigmoid));
    expectNear((await score(await model('exp'), xs))['predictions'], ys.map(Math.exp));
    expectNear(
      (await score(await model('cloglog'), xs))['predictions'],
      ys.map((y) => 1 - Math.exp(-Math.exp(y))),
    );
    expectNear(
      (await score(await model('loglog'), xs))['predictions'],
      ys.map((y) => Math.exp(-Math.exp(-y))),
    );
    expectNear(
      (await score(await model('cauchit'), xs))['predictions'],
      ys.map((y) => 0.5 + Math.atan(y) / Math.PI),
    );
    // Φ(0.75), Φ(−2), Φ(3.5) from standard normal tables.
    expectNear((await score(await model('probit'), xs))['predictions'], [0.7733726476231317, 0.022750131948179195, 0.9997673709209645]);
  });
});

describe('RegressionModel (classification)', () => {
  it('scores a binary logistic regression (sklearn2pmml shape)', async () => {
    const model = await load(fixture('logistic-regression.pmml'));
    const out = await score(model, {
      tenure: [10, 40, null, 10, 10],
      charges: [70, 20, 50, 70, null],
      contract: ['monthly', 'yearly', 'monthly', '', 'monthly'],
    });
    // y(1) = −1.5 − 0.05·tenure + 0.02·charges + contract; P(1) = σ(y), P(0) = 1 − P(1).
    const y = [
      -1.5 - 0.05 * 10 + 0.02 * 70 + 1.2, // 0.6
      -1.5 - 0.05 * 40 + 0.02 * 20 - 0.4, // −3.5
      -1.5 - 0.05 * 12 + 0.02 * 50 + 1.2, // tenure missing → missingValueReplacement 12: 0.1
      -1.5 - 0.05 * 10 + 0.02 * 70, // contract missing → ignored: −0.6
    ];
    const p1 = [...y.map(sigmoid), NaN]; // charges missing → no prediction
    expectNear(out['predictions'], p1);
    expectNear(out['probability_1'], p1);
    expectNear(out['probability(1)'], p1);
    expectNear(
      out['probability_0'],
      p1.map((p) => 1 - p),
    );
    expectNear(
      out['probability(0)'],
      p1.map((p) => 1 - p),
    );
    expect(out['label']).toEqual(['1', '0', '1', '0', '']);
    expectNear(out['predicted_churn'], [1, 0, 1, 0, NaN]);
  });

  it('scores a multinomial softmax regression whose tables are not in class order', async () => {
    const model = await load(fixture('multinomial-regression.pmml'));
    const out = await score(model, { 'Petal.Length': [4, 1.5], 'Petal.Width': [1.5, 0.25] });
    // y(versicolor) = 2 + 1.5·PL − PW, y(virginica) = −4 + 2.5·PL + PW, y(setosa) = 0.
    const [vers1, virg1, set1] = softmax(2 + 1.5 * 4 - 1.5, -4 + 2.5 * 4 + 1.5, 0) as [number, number, number];
    const [vers2, virg2, set2] = softmax(2 + 1.5 * 1.5 - 0.25, -4 + 2.5 * 1.5 + 0.25, 0) as [number, number, number];
    expectNear(out['probability_setosa'], [set1, set2]);
    expectNear(out['probability_versicolor'], [vers1, vers2]);
    expectNear(out['probability_virginica'], [virg1, virg2]);
    // The last declared class (virginica) is `predictions`.
    expectNear(out['predictions'], [virg1, virg2]);
    expect(out['label']).toEqual(['virginica', 'versicolor']);
    expect(out['Predicted_Species']).toEqual(['virginica', 'versicolor']);
    expectNear(out['Probability_versicolor'], [vers1, vers2]);
  });

  it('scores an ordinal target with cumulative logit', async () => {
    const model = await load(`<PMML version="4.4"><DataDictionary>
        <DataField name="grade" optype="ordinal" dataType="string"><Value value="low"/><Value value="medium"/><Value value="high"/></DataField>
        <DataField name="x" optype="continuous" dataType="double"/></DataDictionary>
      <RegressionModel functionName="classification" normalizationMethod="logit">
        <MiningSchema><MiningField name="grade" usageType="target"/><MiningField name="x"/></MiningSchema>
        <RegressionTable intercept="-1" targetCategory="low"><NumericPredictor name="x" coefficient="-1"/></RegressionTable>
        <RegressionTable intercept="1" targetCategory="medium"><NumericPredictor name="x" coefficient="-1"/></RegressionTable>
        <RegressionTable intercept="0" targetCategory="high"/>
      </RegressionModel></PMML>`);
    const out = await score(model, { x: [0.5, -2] });
    // F(low) = σ(−1 − x), F(medium) = σ(1 − x); p = F(low), F(medium) − F(low), 1 − F(medium).
    const expected = [0.5, -2].map((x) => [sigmoid(-1 - x), sigmoid(1 - x) - sigmoid(-1 - x), 1 - sigmoid(1 - x)]);
    expectNear(
      out['probability_low'],
      expected.map((p) => p[0] as number),
    );
    expectNear(
      out['probability_medium'],
      expected.map((p) => p[1] as number),
    );
    expectNear(
      out['probability_high'],
      expected.map((p) => p[2] as number),
    );
    // x = 0.5: p = 0.182, 0.440, 0.378 → medium; x = −2: p = σ(1) = 0.731, 0.222, 0.047 → low.
    expect(out['label']).toEqual(['medium', 'low']);
  });

  it('falls back to the Target prior probabilities when a table cannot be evaluated', async () => {
    const text = edited('logistic-regression.pmml', [
      '<Output>',
      '<Targets><Target field="churn"><TargetValue value="0" priorProbability="0.7"/><TargetValue value="1" priorProbability="0.3"/></Target></Targets><Output>',
    ]);
    const out = await score(await load(text), { tenure: [1], charges: [null], contract: ['monthly'] });
    expectNear(out['probability_0'], [0.7]);
    expectNear(out['probability_1'], [0.3]);
    expect(out['label']).toEqual(['0']);
  });

  it('rejects normalizations that do not fit the target', async () => {
    const multinomialLogit = edited('multinomial-regression.pmml', ['normalizationMethod="softmax"', 'normalizationMethod="logit"']);
    await expect(load(multinomialLogit, 'iris')).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', 'model iris cannot be loaded', 'normalizationMethod logit with 3 categories needs an ordinal target'),
    );
    const exp = edited('logistic-regression.pmml', ['normalizationMethod="logit"', 'normalizationMethod="exp"']);
    await expect(load(exp)).rejects.toEqual(sluiceError('SLUICE_ERR_MODEL_INVALID', 'normalizationMethod exp applies to regression only'));
  });
});
