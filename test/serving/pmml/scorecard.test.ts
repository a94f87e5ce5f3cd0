/**
 * Scorecard: score = initialScore (100) + one partial score per characteristic; reason codes
 * ranked by baselineScore − partialScore (pointsBelow). Worked out by hand per row.
 */
import { describe, expect, it } from 'vitest';
import { edited, expectNear, fixture, load, score, sluiceError } from './support.js';

describe('Scorecard', () => {
  it('adds partial scores and ranks reason codes', async () => {
    const model = await load(fixture('scorecard.pmml'));
    const out = await score(model, {
      department: ['engineering', 'marketing', '', 'sales'],
      age: [25, 45, null, 30.5],
      income: [500, 3000, 2000, 1000],
    });
    const expected = [
      // engineering 3 (RC1: 19 − 3 = 16), age 19–29 → 0 (RC2: 18), income ≤ 1000 → 26 (RC3: −16)
      100 + 3 + 0 + 26,
      // marketing 19 (RC1: 0), age > 39 → 18 (RC2: 0), income > 2500 → 20 − 3000/500 = 14 (RC3b: −4)
      100 + 19 + 18 + (20 - 3000 / 500),
      // department missing −9 (RC1: 28), age missing −1 (RC2: 19), 1000 < income ≤ 2500 → 5 (RC3: 5)
      100 - 9 - 1 + 5,
      // 'sales' and the fractional age 30.5 are invalid → asMissing: −9, −1; income 1000 → 26 (RC3: −16)
      100 - 9 - 1 + 26,
    ];
    expectNear(out['predictions'], expected);
    expectNear(out['Final Score'], expected);
    expect(out['Reason Code 1']).toEqual(['RC2', 'RC1', 'RC1', 'RC1']);
    expect(out['Reason Code 2']).toEqual(['RC1', 'RC2', 'RC2', 'RC2']);
    expect(out['Reason Code 3']).toEqual(['RC3', 'RC3b', 'RC3', 'RC3']);
  });

  it('ranks by pointsAbove when asked', async () => {
    const model = await load(edited('scorecard.pmml', ['reasonCodeAlgorithm="pointsBelow"', 'reasonCodeAlgorithm="pointsAbove"']));
    const out = await score(model, { department: ['engineering'], age: [25], income: [500] });
    // pointsAbove = partial − baseline: RC1 −16, RC2 −18, RC3 16.
    expect([out['Reason Code 1']?.[0], out['Reason Code 2']?.[0], out['Reason Code 3']?.[0]]).toEqual(['RC3', 'RC1', 'RC2']);
  });

  it('fails the row when no attribute of a characteristic matches', async () => {
    const model = await load(
      edited('scorecard.pmml', [
        `<Attribute partialScore="-9">
					<SimplePredicate field="department" operator="isMissing"/>
				</Attribute>`,
        '',
      ]),
      'credit',
    );
    await expect(score(model, { department: ['marketing', ''], age: [45, 45], income: [3000, 3000] })).rejects.toEqual(
      sluiceError(
        'SLUICE_ERR_INFERENCE_FAILED',
        'inference with model credit failed',
        "row 1: no Attribute of Characteristic 'departmentScore' matches the row",
      ),
    );
  });

  it('rejects reason codes without the baselines or codes they need', async () => {
    await expect(load(edited('scorecard.pmml', [' baselineScore="18"', '']))).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', "Characteristic 'ageScore' has no baselineScore", 'Characteristic[name=ageScore]'),
    );
    await expect(load(edited('scorecard.pmml', [' reasonCode="RC2"', '']))).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', "Attribute has no reasonCode (nor has Characteristic 'ageScore')"),
    );
    // Without reason codes, neither is needed (but a reasonCode OutputField then has nothing to give).
    const plain = edited(
      'scorecard.pmml',
      ['useReasonCodes="true"', 'useReasonCodes="false"'],
      [' baselineScore="18"', ''],
      ['<OutputField name="Reason Code 1" rank="1" feature="reasonCode" dataType="string" optype="categorical"/>', ''],
      ['<OutputField name="Reason Code 2" rank="2" feature="reasonCode" dataType="string" optype="categorical"/>', ''],
      ['<OutputField name="Reason Code 3" rank="3" feature="reasonCode" dataType="string" optype="categorical"/>', ''],
    );
    expectNear((await score(await load(plain), { department: ['engineering'], age: [25], income: [500] }))['predictions'], [129]);
    await expect(load(edited('scorecard.pmml', ['useReasonCodes="true"', 'useReasonCodes="false"']))).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', "OutputField 'Reason Code 1' asks for a reason code, which only a Scorecard with useReasonCodes gives"),
    );
  });
});
