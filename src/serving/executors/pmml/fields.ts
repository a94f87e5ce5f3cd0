/**
 * The DataDictionary and the MiningSchema: which raw values a field accepts (its domain), and
 * what a model does with missing, invalid and outlying values before it sees them.
 *
 * Order, per PMML: a raw value that is absent or declared missing (`Value property="missing"`)
 * is missing; a present value that does not convert to the field's dataType, is declared
 * invalid, is not among the declared valid Values of a categorical field, or lies outside the
 * declared Intervals of a continuous one, is invalid and follows `invalidValueTreatment`
 * (`returnInvalid`, the default, fails the row; `asIs` keeps it; `asMissing` makes it missing;
 * `asValue` replaces it by `invalidValueReplacement`); a valid value below `lowValue` or above
 * `highValue` follows `outliers`; a missing value takes `missingValueReplacement` when there is
 * one, fails the row under `missingValueTreatment="returnInvalid"`, and stays missing otherwise.
 */
import type { DataField, DataType, Interval, MiningField } from './document.js';
import { PmmlError, PmmlRowError } from './errors.js';
import { memoize, type CompileContext, type Field, type Getter } from './scope.js';
import { convert, describe, INVALID, keyOf, type Invalid, type PresentValue, type Value } from './values.js';

/** A DataField's compiled domain. */
export interface Domain {
  readonly dataField: DataField;
  /** The declared valid Values, converted to the field's dataType. */
  readonly categories: readonly PresentValue[] | undefined;
  /** The value converted to the field's dataType; `null` if it is declared missing; INVALID if invalid. */
  check(raw: PresentValue): Value | Invalid;
}

export function compileDomain(field: DataField): Domain {
  const { dataType } = field;
  const declared = (property: 'valid' | 'invalid' | 'missing'): string[] => field.values.filter((v) => v.property === property).map((v) => v.value);
  const keyOfText = (text: string): string => {
    const converted = convert(text, dataType);
    return converted === INVALID ? text : keyOf(converted);
  };
  const missing = new Set(declared('missing').map(keyOfText));
  const invalid = new Set(declared('invalid').map(keyOfText));
  const categories = declared('valid').map((text) => {
    const converted = convert(text, dataType);
    if (converted === INVALID) throw new PmmlError(`DataField '${field.name}' declares the value '${text}', which is not a valid ${dataType}`, field.path);
    return converted;
  });
  const valid = new Set(categories.map(keyOf));
  const intervals = field.intervals.map(intervalTest);
  const continuous = field.optype === 'continuous';
  const plain = missing.size === 0 && invalid.size === 0 && valid.size === 0 && intervals.length === 0;

  const check = plain
    ? (raw: PresentValue): Value | Invalid => convert(raw, dataType)
    : (raw: PresentValue): Value | Invalid => {
        const value = convert(raw, dataType);
        if (value === INVALID) return missing.has(keyOf(raw)) ? null : INVALID;
        const key = keyOf(value);
        if (missing.has(key)) return null;
        if (invalid.has(key)) return INVALID;
        if (continuous) {
          if (intervals.length === 0 || valid.has(key) || (typeof value === 'number' && intervals.some((inside) => inside(value)))) return value;
          return INVALID;
        }
        return valid.size === 0 || valid.has(key) ? value : INVALID;
      };
  return { dataField: field, categories: categories.length > 0 ? categories : undefined, check };
}

/** A test for one Interval: `closure` says which margins belong to it. */
export function intervalTest(interval: Interval): (x: number) => boolean {
  const { leftMargin: left, rightMargin: right } = interval;
  switch (interval.closure) {
    case 'closedClosed':
      return (x) => x >= left && x <= right;
    case 'closedOpen':
      return (x) => x >= left && x < right;
    case 'openClosed':
      return (x) => x > left && x <= right;
    case 'openOpen':
      return (x) => x > left && x < right;
  }
}

/**
 * A top-level input: column `index` of the batch. A NaN in a numeric column and an empty
 * string in a string column are missing values.
 */
export function inputGetter(index: number, dataType: DataType): Getter {
  if (dataType === 'string') {
    return (row) => {
      const value = (row.columns[index] as readonly string[])[row.index] as string;
      return value === '' ? null : value;
    };
  }
  return (row) => {
    const value = (row.columns[index] as ArrayLike<number>)[row.index] as number;
    return value !== value ? null : value;
  };
}

/**
 * The field as the model sees it after its MiningField's treatments. `domain` is given at the
 * top level, where raw inputs arrive; nested models see values their parent already checked,
 * so only their own replacements and outlier treatment apply.
 */
export function applyMiningField(miningField: MiningField, source: Field, domain: Domain | undefined, ctx: CompileContext): Field {
  const { name, path } = miningField;
  const { dataType } = source;
  const constant = (text: string | undefined, attribute: string): Value => {
    if (text === undefined) return null;
    const value = convert(text, dataType);
    if (value === INVALID) throw new PmmlError(`MiningField '${name}' ${attribute} '${text}' is not a valid ${dataType}`, path);
    return value;
  };
  const replacement = constant(miningField.missingValueReplacement, 'missingValueReplacement');
  const invalidReplacement = constant(miningField.invalidValueReplacement, 'invalidValueReplacement');
  if (miningField.invalidValueTreatment === 'asValue' && invalidReplacement === null) {
    throw new PmmlError(`MiningField '${name}' has invalidValueTreatment="asValue" but no invalidValueReplacement`, path);
  }
  const { lowValue, highValue, outliers } = miningField;
  const checksOutliers = outliers !== 'asIs' && (lowValue !== undefined || highValue !== undefined);
  const failsOnMissing = miningField.missingValueTreatment === 'returnInvalid';

  const treatsSomething = domain !== undefined || replacement !== null || failsOnMissing || checksOutliers;
  if (!treatsSomething) return source;

  const low = lowValue ?? -Infinity;
  const high = highValue ?? Infinity;
  const whenMissing = (): Value => {
    if (replacement !== null) return replacement;
    if (failsOnMissing) throw new PmmlRowError(`field '${name}' is missing (missingValueTreatment="returnInvalid")`);
    return null;
  };
  const whenInvalid = (raw: PresentValue): Value => {
    switch (miningField.invalidValueTreatment) {
      case 'returnInvalid':
        throw new PmmlRowError(`field '${name}' has the invalid value ${describe(raw)} (invalidValueTreatment="returnInvalid")`);
      case 'asIs':
        return raw;
      case 'asMissing':
        return whenMissing();
      case 'asValue':
        return invalidReplacement;
    }
  };
  const get = source.get;
  const check = domain?.check;
  const compute: Getter = (row) => {
    const raw = get(row);
    if (raw === null) return whenMissing();
    let value: Value | Invalid = raw;
    if (check !== undefined) {
      value = check(raw);
      if (value === null) return whenMissing();
      if (value === INVALID) return whenInvalid(raw);
    }
    if (checksOutliers && typeof value === 'number' && (value < low || value > high)) {
      if (outliers === 'asMissingValues') return whenMissing();
      return value < low ? low : high;
    }
    return value;
  };
  const categories = domain?.categories ?? source.categories;
  return {
    name,
    dataType,
    optype: source.optype,
    get: memoize(ctx.slots.allocate(), compute),
    ...(categories !== undefined ? { categories } : {}),
  };
}
