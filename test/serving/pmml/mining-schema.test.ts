/**
 * MiningSchema and DataDictionary treatments: every treated value is exposed through an
 * OutputField; the expected values follow the fixture's attributes, worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { expectNear, fixture, load, score, sluiceError } from './support.js';

describe('missing, invalid and outlier treatments', () => {
  it('replaces, keeps, nulls and clamps as each MiningField says', async () => {
    const model = await load(fixture('mining-schema.pmml'));
    const out = await score(model, {
      a: [-999, null, 2, 1],
      b: [150, null, 3, 1],
      c: [-1, null, 4, 100],
      d: [50, 0, 5, 100],
      e: [5, 20, 15, 25],
      f: [25, 10, 12, 9],
      g: ['bad', '', 'NA', 'z'],
      h: [1, 0, 3, 7],
    });
    // a: Value −999 is declared missing → missingValueReplacement 5.
    expectNear(out['treated_a'], [5, 5, 2, 1]);
    // b: outside [0,100] is invalid → asIs keeps it; missing stays missing.
    expectNear(out['treated_b'], [150, NaN, 3, 1]);
    // c: invalid → asMissing → missingValueReplacement 50.
    expectNear(out['treated_c'], [50, 50, 4, 100]);
    // d: 0 and 100 are inside the closed interval.
    expectNear(out['treated_d'], [50, 0, 5, 100]);
    // e: outliers asExtremeValues clamp to [10, 20].
    expectNear(out['treated_e'], [10, 20, 15, 20]);
    // f: outliers asMissingValues → missing → replacement 15.
    expectNear(out['treated_f'], [15, 10, 12, 15]);
    // g: 'bad' is declared invalid, 'z' is undeclared → asValue 'x'; '' and 'NA' are missing → 'y'.
    expect(out['treated_g']).toEqual(['x', 'y', 'y', 'x']);
    // y = a + b + c + d + e + f + (g = x ? 1000 : 2000); b missing in row 1 → no prediction.
    expectNear(out['predictions'], [5 + 150 + 50 + 50 + 10 + 15 + 1000, NaN, 2 + 3 + 4 + 5 + 15 + 12 + 2000, 1 + 1 + 100 + 100 + 20 + 15 + 1000]);
  });

  const valid = { a: [1], b: [1], c: [1], e: [15], f: [15], g: ['x'] };

  it('fails the row on an invalid value under the default returnInvalid', async () => {
    const model = await load(fixture('mining-schema.pmml'), 'treatments');
    await expect(score(model, { ...valid, d: [101], h: [1] })).rejects.toEqual(
      sluiceError(
        'SLUICE_ERR_INFERENCE_FAILED',
        'inference with model treatments failed: row 0',
        "field 'd' has the invalid value 101",
        'invalidValueTreatment="returnInvalid"',
      ),
    );
    await expect(score(model, { ...valid, d: [1], h: [2.5] })).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', "field 'h' has the invalid value 2.5"),
    );
  });

  it('fails the row on a missing value under missingValueTreatment="returnInvalid"', async () => {
    const model = await load(fixture('mining-schema.pmml'));
    await expect(score(model, { a: [1, 1], b: [1, 1], c: [1, 1], d: [1, 1], e: [15, 15], f: [15, 15], g: ['x', 'x'], h: [1, null] })).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', 'row 1: field \'h\' is missing (missingValueTreatment="returnInvalid")'),
    );
  });
});
