/** Reads the expression and predicate elements of PMML (transformations, tree splits, segments). */
import type { Closure, DataType, DefineFunction, DerivedField, Expression, Interval, OpType, Predicate, SimpleOperator } from './document.js';
import {
  booleanOr,
  childAmong,
  childNamed,
  childrenNamed,
  enumOr,
  fail,
  optionalEnum,
  optionalNumber,
  optionalString,
  requiredChild,
  requiredName,
  requiredNumber,
  requiredString,
} from './read.js';
import type { XmlElement } from './xml.js';

export const dataTypes: readonly DataType[] = ['string', 'integer', 'float', 'double', 'boolean'];
export const opTypes: readonly OpType[] = ['categorical', 'ordinal', 'continuous'];
const closures: readonly Closure[] = ['openClosed', 'openOpen', 'closedOpen', 'closedClosed'];

export function optionalDataType(element: XmlElement, name = 'dataType'): DataType | undefined {
  const value = optionalString(element, name);
  if (value === undefined) return undefined;
  if (!(dataTypes as readonly string[]).includes(value)) {
    fail(element, `${element.name} has dataType '${value}', which this executor does not support (supported: ${dataTypes.join(', ')})`);
  }
  return value as DataType;
}

export function requiredDataType(element: XmlElement): DataType {
  const dataType = optionalDataType(element);
  if (dataType === undefined) fail(element, `${element.name} has no 'dataType' attribute`);
  return dataType;
}

export function readInterval(element: XmlElement): Interval {
  const closure = optionalEnum(element, 'closure', closures);
  if (closure === undefined) fail(element, "Interval has no 'closure' attribute");
  const leftMargin = optionalNumber(element, 'leftMargin', true) ?? -Infinity;
  const rightMargin = optionalNumber(element, 'rightMargin', true) ?? Infinity;
  if (leftMargin > rightMargin) fail(element, `Interval leftMargin ${leftMargin} is above its rightMargin ${rightMargin}`);
  return { closure, leftMargin, rightMargin };
}

/**
 * The entries of an `Array` element: whitespace-separated, or double-quoted with `\"` inside
 * quotes (`"New York" Boston`).
 */
export function readArray(element: XmlElement): string[] {
  const text = element.text;
  const entries: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    entries.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? ''));
  }
  const n = optionalNumber(element, 'n');
  if (n !== undefined && n !== entries.length) fail(element, `Array says n="${n}" but holds ${entries.length} entries`);
  return entries;
}

// ---- Expressions ---------------------------------------------------------------------------

const expressionElements = ['Constant', 'FieldRef', 'NormContinuous', 'NormDiscrete', 'Discretize', 'MapValues', 'Apply'] as const;
const unsupportedExpressionElements = ['TextIndex', 'Aggregate', 'Lag'] as const;
const allExpressionElements: readonly string[] = [...expressionElements, ...unsupportedExpressionElements];

/** The one expression child of a DerivedField, DefineFunction, OutputField or ComplexPartialScore. */
export function readExpressionChild(element: XmlElement): Expression {
  const child = childAmong(element, allExpressionElements);
  if (child === undefined) {
    fail(element, `${element.name} has no expression (one of ${expressionElements.join(', ')})`);
  }
  return readExpression(child);
}

export function readExpression(element: XmlElement): Expression {
  const path = element.path;
  switch (element.name) {
    case 'Constant':
      return {
        kind: 'Constant',
        path,
        value: element.text,
        dataType: optionalDataType(element),
        missing: booleanOr(element, 'missing', false),
      };
    case 'FieldRef':
      return { kind: 'FieldRef', path, field: requiredName(element, 'field'), mapMissingTo: optionalString(element, 'mapMissingTo') };
    case 'NormContinuous': {
      const points = childrenNamed(element, 'LinearNorm').map((p) => ({ orig: requiredNumber(p, 'orig'), norm: requiredNumber(p, 'norm') }));
      if (points.length < 2) fail(element, `NormContinuous needs at least 2 LinearNorm elements, it has ${points.length}`);
      for (let i = 1; i < points.length; i++) {
        if ((points[i]?.orig ?? NaN) <= (points[i - 1]?.orig ?? NaN)) fail(element, 'NormContinuous LinearNorm orig values must be strictly ascending');
      }
      return {
        kind: 'NormContinuous',
        path,
        field: requiredName(element, 'field'),
        mapMissingTo: optionalNumber(element, 'mapMissingTo'),
        outliers: enumOr(element, 'outliers', ['asIs', 'asMissingValues', 'asExtremeValues'], 'asIs'),
        points,
      };
    }
    case 'NormDiscrete':
      return {
        kind: 'NormDiscrete',
        path,
        field: requiredName(element, 'field'),
        value: requiredString(element, 'value'),
        mapMissingTo: optionalNumber(element, 'mapMissingTo'),
      };
    case 'Discretize':
      return {
        kind: 'Discretize',
        path,
        field: requiredName(element, 'field'),
        mapMissingTo: optionalString(element, 'mapMissingTo'),
        defaultValue: optionalString(element, 'defaultValue'),
        dataType: optionalDataType(element),
        bins: childrenNamed(element, 'DiscretizeBin').map((bin) => ({
          binValue: requiredString(bin, 'binValue'),
          interval: readInterval(requiredChild(bin, 'Interval')),
        })),
      };
    case 'MapValues':
      return readMapValues(element);
    case 'Apply':
      return {
        kind: 'Apply',
        path,
        function: requiredName(element, 'function'),
        mapMissingTo: optionalString(element, 'mapMissingTo'),
        defaultValue: optionalString(element, 'defaultValue'),
        invalidValueTreatment: enumOr(element, 'invalidValueTreatment', ['returnInvalid', 'asIs', 'asMissing'], 'returnInvalid'),
        args: element.children.filter((c) => allExpressionElements.includes(c.name)).map(readExpression),
      };
    default:
      return fail(element, `${element.name} is not a supported expression (supported: ${expressionElements.join(', ')})`);
  }
}

/** InlineTable cells lose their namespace prefix (`data:input` → `input`): so must column names. */
function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

function readMapValues(element: XmlElement): Expression {
  const outputColumn = localName(requiredName(element, 'outputColumn'));
  const pairs = childrenNamed(element, 'FieldColumnPair').map((p) => ({ field: requiredName(p, 'field'), column: localName(requiredName(p, 'column')) }));
  if (childNamed(element, 'TableLocator') !== undefined) {
    fail(element, 'MapValues with a TableLocator (an external table) is not supported: use an InlineTable');
  }
  const table = childNamed(element, 'InlineTable');
  if (table === undefined) fail(element, 'MapValues has no InlineTable');
  const columns = [outputColumn, ...pairs.map((p) => p.column)];
  const rows = childrenNamed(table, 'row').map((row) => {
    const cells: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const cell of row.children) cells[cell.name] = cell.text;
    for (const column of columns) {
      if (!(column in cells)) fail(row, `InlineTable row has no '${column}' cell`);
    }
    return cells;
  });
  return {
    kind: 'MapValues',
    path: element.path,
    outputColumn,
    mapMissingTo: optionalString(element, 'mapMissingTo'),
    defaultValue: optionalString(element, 'defaultValue'),
    dataType: optionalDataType(element),
    pairs,
    rows,
  };
}

export function readDerivedField(element: XmlElement): DerivedField {
  return {
    path: element.path,
    name: requiredName(element, 'name'),
    optype: optionalEnum(element, 'optype', opTypes),
    dataType: requiredDataType(element),
    expression: readExpressionChild(element),
  };
}

export function readDefineFunction(element: XmlElement): DefineFunction {
  return {
    path: element.path,
    name: requiredName(element, 'name'),
    dataType: optionalDataType(element),
    parameters: childrenNamed(element, 'ParameterField').map((p) => ({ name: requiredName(p, 'name'), dataType: optionalDataType(p) })),
    expression: readExpressionChild(element),
  };
}

// ---- Predicates ----------------------------------------------------------------------------

const predicateElements = ['SimplePredicate', 'CompoundPredicate', 'SimpleSetPredicate', 'True', 'False'] as const;
const simpleOperators: readonly SimpleOperator[] = [
  'equal',
  'notEqual',
  'lessThan',
  'lessOrEqual',
  'greaterThan',
  'greaterOrEqual',
  'isMissing',
  'isNotMissing',
];

/** The predicate child of a Node, Segment or Attribute. */
export function readPredicateChild(element: XmlElement): Predicate {
  const child = childAmong(element, predicateElements);
  if (child === undefined) fail(element, `${element.name} has no predicate (one of ${predicateElements.join(', ')})`);
  return readPredicate(child);
}

export function readPredicate(element: XmlElement): Predicate {
  const path = element.path;
  switch (element.name) {
    case 'True':
    case 'False':
      return { kind: element.name, path };
    case 'SimplePredicate': {
      const operator = optionalEnum(element, 'operator', simpleOperators);
      if (operator === undefined) fail(element, "SimplePredicate has no 'operator' attribute");
      const value = optionalString(element, 'value');
      if (value === undefined && operator !== 'isMissing' && operator !== 'isNotMissing') {
        fail(element, `SimplePredicate with operator '${operator}' has no 'value' attribute`);
      }
      return { kind: 'SimplePredicate', path, field: requiredName(element, 'field'), operator, value };
    }
    case 'CompoundPredicate': {
      const booleanOperator = optionalEnum(element, 'booleanOperator', ['and', 'or', 'xor', 'surrogate'] as const);
      if (booleanOperator === undefined) fail(element, "CompoundPredicate has no 'booleanOperator' attribute");
      const predicates = element.children.filter((c) => (predicateElements as readonly string[]).includes(c.name)).map(readPredicate);
      if (predicates.length < 2) fail(element, `CompoundPredicate needs at least 2 predicates, it has ${predicates.length}`);
      return { kind: 'CompoundPredicate', path, booleanOperator, predicates };
    }
    case 'SimpleSetPredicate': {
      const booleanOperator = optionalEnum(element, 'booleanOperator', ['isIn', 'isNotIn'] as const);
      if (booleanOperator === undefined) fail(element, "SimpleSetPredicate has no 'booleanOperator' attribute");
      return {
        kind: 'SimpleSetPredicate',
        path,
        field: requiredName(element, 'field'),
        booleanOperator,
        values: readArray(requiredChild(element, 'Array')),
      };
    }
    default:
      return fail(element, `${element.name} is not a predicate (supported: ${predicateElements.join(', ')})`);
  }
}
