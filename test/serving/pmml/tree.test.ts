/**
 * TreeModel: each expected value names the path the row takes through the fixture's tree, worked
 * out by hand. Tolerance: support.ts.
 */
import { describe, expect, it } from 'vitest';
import { edited, expectNear, fixture, load, score, sluiceError } from './support.js';

describe('TreeModel (classification)', () => {
  const rows = {
    outlook: ['overcast', 'sunny', 'rain', 'sunny', 'sunny', '', 'fog', 'rain'],
    humidity: [90, 70, 80, null, null, 60, 80, null],
    windy: ['true', 'true', 'false', 'false', '', 'true', 'true', 'true'],
  };

  it('follows splits, surrogates, set predicates and default children', async () => {
    const model = await load(fixture('tree-classification.pmml'));
    const out = await score(model, rows);
    // Probabilities are record counts: node 2 = 0/4 no, 4/4 yes; node 4 = 1/5, 4/5; node 5 = 4/5, 1/5.
    const yes = [
      4 / 4, // overcast → node 2
      4 / 5, // sunny, 70 ≤ 75 → node 3 → node 4
      1 / 5, // rain, 80 > 75 → node 5
      4 / 5, // humidity missing: node 4's surrogate windy = false holds
      4 / 5, // humidity and windy missing: node 4 is UNKNOWN → node 3's defaultChild, node 4
      4 / 5, // outlook missing: node 2 UNKNOWN → root's defaultChild node 3 → 60 ≤ 75 → node 4
      1 / 5, // 'fog' is invalid → asMissing → as above → 80 > 75 → node 5
      1 / 5, // humidity missing, windy true: node 4's surrogate false, node 5's surrogate true
    ];
    expectNear(out['predictions'], yes);
    expectNear(out['probability_yes'], yes);
    expectNear(out['Probability_yes'], yes);
    expectNear(
      out['probability_no'],
      yes.map((p) => 1 - p),
    );
    expect(out['label']).toEqual(['yes', 'yes', 'no', 'yes', 'yes', 'yes', 'no', 'no']);
  });

  it('treats UNKNOWN as false under missingValueStrategy="none", then returns no prediction when no child is true', async () => {
    const model = await load(edited('tree-classification.pmml', ['missingValueStrategy="defaultChild"', 'missingValueStrategy="none"']));
    const out = await score(model, rows);
    // Row 4: node 4 and node 5 are both UNKNOWN → false → no true child → returnNullPrediction.
    // Rows 5 and 6: outlook missing → node 2 and node 3 false → null prediction.
    expectNear(out['predictions'], [1, 4 / 5, 1 / 5, 4 / 5, NaN, NaN, NaN, 1 / 5]);
    expect(out['label']).toEqual(['yes', 'yes', 'no', 'yes', '', '', '', 'no']);
  });

  it('stops at the current node under lastPrediction, and gives nothing under nullPrediction', async () => {
    const last = await load(edited('tree-classification.pmml', ['missingValueStrategy="defaultChild"', 'missingValueStrategy="lastPrediction"']));
    // Row 4 stops at node 3 (5/10 yes), rows 5 and 6 at the root (9/14 yes).
    expectNear((await score(last, rows))['predictions'], [1, 4 / 5, 1 / 5, 4 / 5, 5 / 10, 9 / 14, 9 / 14, 1 / 5]);
    const none = await load(edited('tree-classification.pmml', ['missingValueStrategy="defaultChild"', 'missingValueStrategy="nullPrediction"']));
    expectNear((await score(none, rows))['predictions'], [1, 4 / 5, 1 / 5, 4 / 5, NaN, NaN, NaN, 1 / 5]);
  });

  it('rejects defaultChild strategy without a defaultChild, or naming no child', async () => {
    await expect(load(edited('tree-classification.pmml', [' defaultChild="4"', '']))).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', 'this Node with children has no defaultChild', 'Node[id=3]'),
    );
    await expect(load(edited('tree-classification.pmml', ['defaultChild="4"', 'defaultChild="9"']))).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', "Node defaultChild '9' is not the id of one of its children"),
    );
  });
});

describe('TreeModel (regression)', () => {
  const rows = {
    x1: [1, 1, 1, 1, null, 5, 5, 20, 20],
    x2: [0.5, 5, 12, null, 3, null, 3, 3, 999],
  };

  it('scores leaves and inner nodes with lastPrediction and returnLastPrediction', async () => {
    const model = await load(fixture('tree-regression.pmml'));
    expectNear((await score(model, rows))['predictions'], [
      3, // x1 ≤ 2.5 → x2 < 1 → node 4
      7, // 1 ≤ x2 < 10 → node 5
      5, // x2 = 12: no child of node 2 is true → returnLastPrediction → node 2
      5, // x2 missing: node 4 UNKNOWN → lastPrediction → node 2
      10, // x1 missing: node 2 UNKNOWN → the root
      18, // x1 > 2.5, x2 isMissing → node 6
      25, // xor(x2 > 0, x1 > 10) = xor(true, false) → node 7
      30, // xor(true, true) = false; x2 ≠ 999 → node 8
      20, // x2 = 999: no child true → node 3
    ]);
  });

  it('gives no prediction under nullPrediction and returnNullPrediction', async () => {
    const model = await load(
      edited(
        'tree-regression.pmml',
        ['missingValueStrategy="lastPrediction"', 'missingValueStrategy="nullPrediction"'],
        ['noTrueChildStrategy="returnLastPrediction"', 'noTrueChildStrategy="returnNullPrediction"'],
      ),
    );
    expectNear((await score(model, rows))['predictions'], [3, 7, NaN, NaN, NaN, 18, 25, 30, NaN]);
  });

  it('rejects a regression node whose score is not a number', async () => {
    await expect(load(edited('tree-regression.pmml', ['score="25"', 'score="high"']), 'steps')).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', 'model steps cannot be loaded', "Node score 'high' is not a number", 'Node[id=7]'),
    );
  });
});

describe('predicates and three-valued logic', () => {
  const tree = (strategy: string): string => `<PMML version="4.4"><DataDictionary>
      <DataField name="a" optype="continuous" dataType="double"/><DataField name="s" optype="categorical" dataType="string"/></DataDictionary>
    <TreeModel functionName="regression" missingValueStrategy="${strategy}"><MiningSchema><MiningField name="a"/><MiningField name="s"/></MiningSchema>
      <Node><True/>
        <Node score="1"><CompoundPredicate booleanOperator="or">
          <SimplePredicate field="a" operator="equal" value="1"/><SimplePredicate field="s" operator="equal" value="x"/></CompoundPredicate></Node>
        <Node score="2"><CompoundPredicate booleanOperator="and">
          <SimpleSetPredicate field="s" booleanOperator="isNotIn"><Array type="string">p q</Array></SimpleSetPredicate>
          <SimplePredicate field="a" operator="greaterOrEqual" value="5"/></CompoundPredicate></Node>
        <Node score="3"><False/></Node>
        <Node score="4"><SimplePredicate field="a" operator="isNotMissing"/></Node>
        <Node score="5"><True/></Node>
      </Node></TreeModel></PMML>`;
  const rows = { a: [1, 2, null, null, 6, 6, 3], s: ['z', 'x', 'z', 'x', 'q', 'r', ''] };

  it('evaluates or / and with UNKNOWN parts, isNotIn, False and isNotMissing', async () => {
    expectNear((await score(await load(tree('none')), rows))['predictions'], [
      1, // a = 1
      1, // s = x
      5, // or(UNKNOWN, false) = UNKNOWN → false; and(true, UNKNOWN) = UNKNOWN → false; a missing → node 5
      1, // or(UNKNOWN, true) = true
      4, // 'q' is in the set → and false; False; a present → node 4
      2, // 'r' not in the set and 6 ≥ 5
      4, // s missing: or(false, UNKNOWN) → false; and(UNKNOWN, false) = false; a present → node 4
    ]);
    // nullPrediction: an UNKNOWN child predicate ends scoring without a prediction.
    expectNear((await score(await load(tree('nullPrediction')), rows))['predictions'], [1, 1, NaN, 1, 4, 2, NaN]);
  });
});
