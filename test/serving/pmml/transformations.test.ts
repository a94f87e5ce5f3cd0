/**
 * Transformations: every derived field of transformations.pmml is exposed through an OutputField,
 * and checked against its definition worked out by hand. Tolerance: support.ts.
 */
import { describe, expect, it } from 'vitest';
import { edited, expectNear, fixture, load, score, sluiceError } from './support.js';

describe('TransformationDictionary and LocalTransformations', () => {
  const rows = {
    age: [40, 10, 120, null, 30],
    income: [3000, 500, null, 20000, 0],
    city: ['lyon', 'paris', 'marseille', '', 'nice'],
    gender: ['m', 'f', 'm', 'f', 'm'],
  };

  it('computes each derived field', async () => {
    const out = await score(await load(fixture('transformations.pmml')), rows);
    // NormContinuous age: (0,0) (20,.25) (60,.75) (100,1); outside the range the end segments extend.
    const ageNorm = [0.25 + (40 - 20) * (0.5 / 40), 0 + 10 * (0.25 / 20), 0.75 + (120 - 60) * (0.25 / 40), NaN, 0.25 + (30 - 20) * (0.5 / 40)];
    expectNear(out['out_age_norm'], ageNorm);
    // NormContinuous income (1000,0) (5000,1), asExtremeValues, missing → 0.5.
    expectNear(out['out_income_norm'], [(3000 - 1000) / 4000, 0, 0.5, 1, 0]);
    // Discretize income: (−∞,2000) low, [2000,4000) mid, [4000,10000] high, else other, missing unknown.
    expect(out['out_income_band']).toEqual(['mid', 'low', 'unknown', 'other', 'low']);
    // MapValues city → region (namespaced InlineTable cells), default elsewhere, missing → 'missing'.
    expect(out['out_region']).toEqual(['south', 'north', 'elsewhere', 'missing', 'south']);
    // MapValues (city, gender) → code, default 0; a missing key without mapMissingTo is missing.
    expectNear(out['out_city_gender'], [3, 2, 0, NaN, 0]);
    expectNear(out['out_is_male'], [1, 0, 1, 0, 1]);
    // ln(income); ln(0) = −∞ is invalid → asMissing → defaultValue −1; a missing income → −1 too.
    expectNear(out['out_log_income'], [Math.log(3000), Math.log(500), -1, Math.log(20000), -1]);
    expectNear(out['out_ratio'], [3000 / 41, 500 / 11, NaN, NaN, 0 / 31]);
    expect(out['out_age_group']).toEqual(['old', 'young', 'old', '', 'old']);
    expectNear(
      out['out_decay'],
      ageNorm.map((a) => Math.exp(-0.5 * a)),
    );
    // DefineFunction affine(x, a, b) = a·x + b with a = 2, b = 1.
    expectNear(out['out_affine_age'], [81, 21, 241, NaN, 61]);
    expectNear(out['out_age_or_zero'], [40, 10, 120, 0, 30]);
    // LocalTransformation south = region = 'south' ? 1 : 0.
    expectNear(out['out_south'], [1, 0, 0, 0, 1]);
    // score = 1 + 10·age_norm + 4·income_norm + 100·south + band (low −2, mid 0, high 3, other 5, unknown 7)
    expectNear(out['predictions'], [
      1 + 10 * 0.5 + 4 * 0.5 + 100 + 0,
      1 + 10 * 0.125 + 0 + 0 - 2,
      1 + 10 * 1.125 + 4 * 0.5 + 0 + 7,
      NaN, // age_norm missing
      1 + 10 * 0.375 + 0 + 100 - 2,
    ]);
  });

  it('fails the row on an invalid arithmetic result under the default returnInvalid', async () => {
    const model = await load(
      edited('transformations.pmml', ['<Apply function="ln" invalidValueTreatment="asMissing" defaultValue="-1">', '<Apply function="ln">']),
    );
    await expect(score(model, { age: [40, 30], income: [3000, 0], city: ['lyon', 'nice'], gender: ['m', 'm'] })).rejects.toEqual(
      sluiceError('SLUICE_ERR_INFERENCE_FAILED', "row 1: function 'ln' gave -Infinity, which is not a valid result"),
    );
  });

  it('rejects a derived field defined in terms of itself, and an unknown function', async () => {
    const cycle = edited('transformations.pmml', ['<NormContinuous field="age">', '<NormContinuous field="decay">']);
    await expect(load(cycle)).rejects.toEqual(
      sluiceError('SLUICE_ERR_MODEL_INVALID', "field 'age_norm' is defined in terms of itself (age_norm → decay → age_norm)"),
    );
    const unknown = edited('transformations.pmml', ['<Apply function="exp">', '<Apply function="x-softplus">']);
    await expect(load(unknown)).rejects.toEqual(
      sluiceError(
        'SLUICE_ERR_MODEL_INVALID',
        "function 'x-softplus' is neither a PMML built-in function this executor supports nor defined by a DefineFunction",
        'DerivedField[name=decay]/Apply',
      ),
    );
  });

  it('rejects wrong argument counts and types', async () => {
    const arity = edited('transformations.pmml', ['<Apply function="exp">', '<Apply function="pow">']);
    await expect(load(arity)).rejects.toEqual(sluiceError('SLUICE_ERR_MODEL_INVALID', "function 'pow' takes 2 argument(s), this Apply passes 1"));
    const type = edited('transformations.pmml', [
      '<Apply function="ln" invalidValueTreatment="asMissing" defaultValue="-1">\n\t\t\t\t<FieldRef field="income"/>',
      '<Apply function="ln">\n\t\t\t\t<FieldRef field="city"/>',
    ]);
    await expect(load(type)).rejects.toEqual(sluiceError('SLUICE_ERR_MODEL_INVALID', "function 'ln' needs numeric arguments, but argument 1 is string"));
    const norm = edited('transformations.pmml', ['<NormContinuous field="income"', '<NormContinuous field="city"']);
    await expect(load(norm)).rejects.toEqual(sluiceError('SLUICE_ERR_MODEL_INVALID', "NormContinuous needs a numeric field, but 'city' is string"));
  });
});
