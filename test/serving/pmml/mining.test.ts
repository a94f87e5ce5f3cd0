/**
 * MiningModel segmentations: the expected values combine, by hand, the leaf each tree reaches
 * (written next to every row). Tolerance: support.ts.
 */
import { describe, expect, it } from 'vitest';
import { edited, expectNear, fixture, load, score, sigmoid, sluiceError } from './support.js';

describe('MiningModel: random forest classification', () => {
  // Tree 1: x ≤ 5 → red (red .8, green .2), else green (green .6, blue .4); weight 1.
  // Tree 2: y ≤ 3 → green (green .9, red .1), else blue (blue .7, green .3); weight 2.
  // Tree 3: x ≤ 2 → red (1); else y > 8 → blue (red .25, blue .75), else green (1); weight 0.5.
  // Row A (1,1): red, green, red.  Row B (7,9): green, blue, blue.  Row C (3,5): red, blue, green.
  const rows = { x: [1, 7, 3], y: [1, 9, 5] };
  const expectClasses = (out: Record<string, (number | string)[]>, red: number[], green: number[], blue: number[]): void => {
    expectNear(out['probability_red'], red);
    expectNear(out['probability_green'], green);
    expectNear(out['probability_blue'], blue);
    expectNear(out['predictions'], blue); // blue is the last declared class
  };

  it('majorityVote: vote shares, ties to the first class in declared order', async () => {
    const out = await score(await load(fixture('random-forest.pmml')), rows);
    expectClasses(out, [2 / 3, 0, 1 / 3], [1 / 3, 1 / 3, 1 / 3], [0, 2 / 3, 1 / 3]);
    expect(out['label']).toEqual(['red', 'blue', 'red']);
  });

  it('weightedMajorityVote: votes weighted by segment weight', async () => {
    const out = await score(await load(edited('random-forest.pmml', ['"majorityVote"', '"weightedMajorityVote"'])), rows);
    // Total weight 3.5. A: red 1 + 0.5, green 2. B: green 1, blue 2 + 0.5. C: red 1, blue 2, green 0.5.
    expectClasses(out, [1.5 / 3.5, 0, 1 / 3.5], [2 / 3.5, 1 / 3.5, 0.5 / 3.5], [0, 2.5 / 3.5, 2 / 3.5]);
    expect(out['label']).toEqual(['green', 'blue', 'blue']);
  });

  it('average: the mean of the trees’ probabilities', async () => {
    const out = await score(await load(edited('random-forest.pmml', ['"majorityVote"', '"average"'])), rows);
    expectClasses(
      out,
      [(0.8 + 0.1 + 1) / 3, (0 + 0 + 0.25) / 3, (0.8 + 0 + 0) / 3],
      [(0.2 + 0.9 + 0) / 3, (0.6 + 0.3 + 0) / 3, (0.2 + 0.3 + 1) / 3],
      [0, (0.4 + 0.7 + 0.75) / 3, (0 + 0.7 + 0) / 3],
    );
    expect(out['label']).toEqual(['red', 'blue', 'green']);
  });

  it('weightedAverage: probabilities weighted by segment weight', async () => {
    const out = await score(await load(edited('random-forest.pmml', ['"majorityVote"', '"weightedAverage"'])), rows);
    expectClasses(
      out,
      [(0.8 * 1 + 0.1 * 2 + 1 * 0.5) / 3.5, (0.25 * 0.5) / 3.5, (0.8 * 1) / 3.5],
      [(0.2 * 1 + 0.9 * 2) / 3.5, (0.6 * 1 + 0.3 * 2) / 3.5, (0.2 * 1 + 0.3 * 2 + 1 * 0.5) / 3.5],
      [0, (0.4 * 1 + 0.7 * 2 + 0.75 * 0.5) / 3.5, (0.7 * 2) / 3.5],
    );
    expect(out['label']).toEqual(['green', 'blue', 'blue']);
  });
});

describe('MiningModel: regression ensembles', () => {
  // Tree 1 (w 1): x ≤ 10 → 1.5, else 4; missing → no prediction.
  // Tree 2 (w 3): x ≤ 5 → 2, else 3; missing → its root, 2.5.
  // Tree 3 (w 2), only when x > 0: x ≤ 20 → −1, else 6.
  // x = 7: 1.5, 3, −1.   x = −2: 1.5, 2 (tree 3 out).   x = 25: 4, 3, 6.   x missing: none, 2.5, out.
  const rows = { x: [7, -2, 25, null] };
  const method = (name: string): string => edited('forest-regression.pmml', ['multipleModelMethod="average"', `multipleModelMethod="${name}"`]);

  it('average, sum, weightedSum, weightedAverage, median and max', async () => {
    expectNear((await score(await load(fixture('forest-regression.pmml')), rows))['predictions'], [(1.5 + 3 - 1) / 3, (1.5 + 2) / 2, (4 + 3 + 6) / 3, NaN]);
    expectNear((await score(await load(method('sum')), rows))['predictions'], [1.5 + 3 - 1, 1.5 + 2, 4 + 3 + 6, NaN]);
    expectNear((await score(await load(method('weightedSum')), rows))['predictions'], [1.5 * 1 + 3 * 3 - 1 * 2, 1.5 + 2 * 3, 4 + 3 * 3 + 6 * 2, NaN]);
    expectNear((await score(await load(method('weightedAverage')), rows))['predictions'], [8.5 / 6, 7.5 / 4, 25 / 6, NaN]);
    expectNear((await score(await load(method('median')), rows))['predictions'], [1.5, (1.5 + 2) / 2, 4, NaN]);
    expectNear((await score(await load(method('max')), rows))['predictions'], [3, 2, 6, NaN]);
  });

  it('missingPredictionTreatment: continue and returnMissing give nothing, skipSegment leaves the tree out', async () => {
    const skip = edited('forest-regression.pmml', ['multipleModelMethod="average"', 'multipleModelMethod="average" missingPredictionTreatment="skipSegment"']);
    expectNear((await score(await load(skip), rows))['predictions'], [(1.5 + 3 - 1) / 3, 1.75, 13 / 3, 2.5]);
    const missing = edited('forest-regression.pmml', [
      'multipleModelMethod="average"',
      'multipleModelMethod="average" missingPredictionTreatment="returnMissing"',
    ]);
    expectNear((await score(await load(missing), rows))['predictions'], [(1.5 + 3 - 1) / 3, 1.75, 13 / 3, NaN]);
  });

  it('rejects a voting method on a regression, and a classification segment among regression ones', async () => {
    await expect(load(method('majorityVote'))).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', "multipleModelMethod 'majorityVote' applies to classification"),
    );
    await expect(
      load(
        edited('random-forest.pmml', ['functionName="classification" algorithmName', 'functionName="regression" algorithmName'], ['"majorityVote"', '"sum"']),
      ),
    ).rejects.toEqual(sluiceError('SLUICE_ERR_MODEL_INVALID', 'Segment 1 is a classification model', "multipleModelMethod 'sum'", 'needs regression segments'));
  });
});

describe('MiningModel: gradient boosting as a model chain (sklearn2pmml shape)', () => {
  it('sums the trees, rescales them, and feeds decisionFunction(1) to the logistic segment', async () => {
    const model = await load(fixture('gradient-boosting.pmml'));
    const out = await score(model, { x1: [0.25, 3, null, 1.5], x2: [1, 12, 1, 2.5] }, 'float32');
    // Trees: t1 = x1 ≤ 0.5 ? 1.2 : −8;  t2 = x2 ≤ 3 ? 0.6 : (x1 ≤ 2 ? −0.3 : 0.9);  t3 = x2 > 10 ? 2 : 0.25.
    // decisionFunction(1) = 0.1·(t1 + t2 + t3) + 0.4054651081081644;  P(1) = σ(decisionFunction(1)).
    const init = 0.4054651081081644;
    const p1 = [
      sigmoid(0.1 * (1.2 + 0.6 + 0.25) + init),
      sigmoid(0.1 * (-8 + 0.9 + 2) + init),
      NaN, // x1 missing: tree 1 has nullPrediction → the sum returnMissing → no decision function → no prediction
      sigmoid(0.1 * (-8 + 0.6 + 0.25) + init),
    ];
    expectNear(out['predictions'], p1);
    expectNear(out['probability_1'], p1);
    expectNear(
      out['probability_0'],
      p1.map((p) => 1 - p),
    );
    expect(out['label']).toEqual(['1', '0', '', '0']);
    // The nested OutputFields are not final results of the top-level model: no extra tensors.
    expect(Object.keys(out).sort()).toEqual(['label', 'predictions', 'probability_0', 'probability_1']);
  });
});

describe('MiningModel: selectFirst and modelChain over segment predicates', () => {
  const rows = { region: ['north', 'south', 'south', 'north', ''], x: [5, 200, 50, 200, 50] };

  it('selectFirst: the first segment whose predicate holds scores the row', async () => {
    const out = await score(await load(fixture('select-first.pmml')), rows);
    // north → 10 + 2x; x > 100 → 500; otherwise 0.5x. A missing region makes the north predicate UNKNOWN: not selected.
    const expected = [10 + 2 * 5, 500, 0.5 * 50, 10 + 2 * 200, 0.5 * 50];
    expectNear(out['predictions'], expected);
    expectNear(out['predicted_sales'], expected);
    expectNear(
      out['doubled'],
      expected.map((v) => 2 * v),
    );
  });

  it('modelChain: every segment whose predicate holds runs; the last one gives the result', async () => {
    const out = await score(await load(edited('select-first.pmml', ['multipleModelMethod="selectFirst"', 'multipleModelMethod="modelChain"'])), rows);
    // The "rest" segment (True) always runs last: 0.5x.
    expectNear(out['predictions'], [2.5, 100, 25, 100, 25]);
  });
});
