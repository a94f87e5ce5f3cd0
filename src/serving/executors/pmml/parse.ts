/**
 * PMML text → the typed {@link PmmlDocument}. Everything structural is checked here (required
 * attributes, enumerations, numbers, supported elements); what needs the whole document (field
 * references, types) is checked when the document compiles.
 */
import {
  pmmlModelElements,
  supportedModelElements,
  type Characteristic,
  type DataField,
  type FieldValue,
  type MiningField,
  type MiningFunction,
  type MiningModel,
  type Model,
  type ModelBase,
  type MultipleModelMethod,
  type OutputFeature,
  type OutputField,
  type PmmlDocument,
  type RegressionModel,
  type Scorecard,
  type Segment,
  type Target,
  type TreeModel,
  type TreeNode,
  type UsageType,
} from './document.js';
import { PmmlError } from './errors.js';
import {
  opTypes,
  optionalDataType,
  readDefineFunction,
  readDerivedField,
  readExpressionChild,
  readInterval,
  readPredicateChild,
  requiredDataType,
} from './parse-expressions.js';
import {
  booleanOr,
  childAmong,
  childNamed,
  childrenNamed,
  enumOr,
  fail,
  numberOr,
  optionalEnum,
  optionalNumber,
  optionalString,
  requiredChild,
  requiredName,
  requiredNumber,
  requiredString,
} from './read.js';
import { parseXml, type XmlElement } from './xml.js';

const modelElements: readonly string[] = pmmlModelElements;

export function parsePmml(text: string): PmmlDocument {
  const root = parseXml(text);
  if (root.name !== 'PMML') {
    throw new PmmlError(`the document's root element is <${root.name}>, not <PMML>: this is not a PMML document`, root.path);
  }
  const dictionary = childNamed(root, 'DataDictionary');
  if (dictionary === undefined) fail(root, 'PMML has no DataDictionary');
  const transformations = childNamed(root, 'TransformationDictionary');
  const modelElement = childAmong(root, modelElements);
  if (modelElement === undefined) {
    const others = root.children
      .map((c) => c.name)
      .filter((n) => !['Header', 'MiningBuildTask', 'DataDictionary', 'TransformationDictionary', 'Extension'].includes(n));
    fail(
      root,
      `PMML has no model element${others.length > 0 ? ` (it has ${[...new Set(others)].join(', ')})` : ''}; supported: ${supportedModelElements.join(', ')}`,
    );
  }
  return {
    version: optionalString(root, 'version') ?? '',
    dataDictionary: childrenNamed(dictionary, 'DataField').map(readDataField),
    transformations: {
      derivedFields: transformations === undefined ? [] : childrenNamed(transformations, 'DerivedField').map(readDerivedField),
      functions: transformations === undefined ? [] : childrenNamed(transformations, 'DefineFunction').map(readDefineFunction),
    },
    model: readModel(modelElement),
  };
}

function readDataField(element: XmlElement): DataField {
  const optype = optionalEnum(element, 'optype', opTypes);
  if (optype === undefined) fail(element, "DataField has no 'optype' attribute");
  return {
    path: element.path,
    name: requiredName(element, 'name'),
    optype,
    dataType: requiredDataType(element),
    values: childrenNamed(element, 'Value').map((v): FieldValue => ({
      value: requiredString(v, 'value'),
      property: enumOr(v, 'property', ['valid', 'invalid', 'missing'], 'valid'),
    })),
    intervals: childrenNamed(element, 'Interval').map(readInterval),
  };
}

// ---- Models --------------------------------------------------------------------------------

function readModel(element: XmlElement): Model {
  switch (element.name) {
    case 'RegressionModel':
      return readRegressionModel(element);
    case 'TreeModel':
      return readTreeModel(element);
    case 'MiningModel':
      return readMiningModel(element);
    case 'Scorecard':
      return readScorecard(element);
    default:
      return fail(element, `model element ${element.name} is not supported (supported: ${supportedModelElements.join(', ')})`);
  }
}

function readModelBase(element: XmlElement): ModelBase {
  if (!booleanOr(element, 'isScorable', true)) fail(element, `${element.name} says isScorable="false": it is not meant to be scored`);
  const functionName = optionalString(element, 'functionName');
  if (functionName === undefined) fail(element, `${element.name} has no 'functionName' attribute`);
  if (functionName !== 'regression' && functionName !== 'classification') {
    fail(element, `${element.name} has functionName '${functionName}'; supported: regression, classification`);
  }
  const local = childNamed(element, 'LocalTransformations');
  const targets = childNamed(element, 'Targets');
  const output = childNamed(element, 'Output');
  return {
    path: element.path,
    modelName: optionalString(element, 'modelName'),
    functionName: functionName as MiningFunction,
    miningSchema: childrenNamed(requiredChild(element, 'MiningSchema'), 'MiningField').map(readMiningField),
    localTransformations: local === undefined ? [] : childrenNamed(local, 'DerivedField').map(readDerivedField),
    targets: targets === undefined ? [] : childrenNamed(targets, 'Target').map(readTarget),
    output: output === undefined ? [] : childrenNamed(output, 'OutputField').map(readOutputField),
  };
}

const usageTypes: readonly (UsageType | 'predicted')[] = [
  'active',
  'target',
  'predicted',
  'supplementary',
  'group',
  'order',
  'frequencyWeight',
  'analysisWeight',
];

function readMiningField(element: XmlElement): MiningField {
  const usageType = enumOr(element, 'usageType', usageTypes, 'active');
  return {
    path: element.path,
    name: requiredName(element, 'name'),
    // `predicted` is PMML 3's name for `target`.
    usageType: usageType === 'predicted' ? 'target' : usageType,
    missingValueReplacement: optionalString(element, 'missingValueReplacement'),
    missingValueTreatment: optionalEnum(element, 'missingValueTreatment', ['asIs', 'asMean', 'asMode', 'asMedian', 'asValue', 'returnInvalid']),
    invalidValueTreatment: enumOr(element, 'invalidValueTreatment', ['returnInvalid', 'asIs', 'asMissing', 'asValue'], 'returnInvalid'),
    invalidValueReplacement: optionalString(element, 'invalidValueReplacement'),
    outliers: enumOr(element, 'outliers', ['asIs', 'asMissingValues', 'asExtremeValues'], 'asIs'),
    lowValue: optionalNumber(element, 'lowValue'),
    highValue: optionalNumber(element, 'highValue'),
  };
}

function readTarget(element: XmlElement): Target {
  return {
    path: element.path,
    field: optionalString(element, 'field'),
    rescaleFactor: numberOr(element, 'rescaleFactor', 1),
    rescaleConstant: numberOr(element, 'rescaleConstant', 0),
    min: optionalNumber(element, 'min'),
    max: optionalNumber(element, 'max'),
    castInteger: optionalEnum(element, 'castInteger', ['round', 'ceiling', 'floor']),
    values: childrenNamed(element, 'TargetValue').map((v) => ({
      path: v.path,
      value: optionalString(v, 'value'),
      defaultValue: optionalNumber(v, 'defaultValue'),
      priorProbability: optionalNumber(v, 'priorProbability'),
    })),
  };
}

const outputFeatures: readonly OutputFeature[] = ['predictedValue', 'probability', 'transformedValue', 'reasonCode'];

function readOutputField(element: XmlElement): OutputField {
  const feature = optionalString(element, 'feature') ?? 'predictedValue';
  if (!(outputFeatures as readonly string[]).includes(feature)) {
    fail(element, `OutputField feature '${feature}' is not supported (supported: ${outputFeatures.join(', ')})`);
  }
  if (optionalString(element, 'segmentId') !== undefined) fail(element, "OutputField with a 'segmentId' is not supported");
  return {
    path: element.path,
    name: requiredName(element, 'name'),
    feature: feature as OutputFeature,
    value: optionalString(element, 'value'),
    dataType: optionalDataType(element),
    isFinalResult: booleanOr(element, 'isFinalResult', true),
    rank: numberOr(element, 'rank', 1),
    expression: feature === 'transformedValue' ? readExpressionChild(element) : undefined,
  };
}

function readRegressionModel(element: XmlElement): RegressionModel {
  const tables = childrenNamed(element, 'RegressionTable').map((table) => ({
    path: table.path,
    intercept: requiredNumber(table, 'intercept'),
    targetCategory: optionalString(table, 'targetCategory'),
    numericPredictors: childrenNamed(table, 'NumericPredictor').map((p) => ({
      path: p.path,
      field: requiredName(p, 'name'),
      exponent: numberOr(p, 'exponent', 1),
      coefficient: requiredNumber(p, 'coefficient'),
    })),
    categoricalPredictors: childrenNamed(table, 'CategoricalPredictor').map((p) => ({
      path: p.path,
      field: requiredName(p, 'name'),
      value: requiredString(p, 'value'),
      coefficient: requiredNumber(p, 'coefficient'),
    })),
    predictorTerms: childrenNamed(table, 'PredictorTerm').map((p) => {
      const fields = childrenNamed(p, 'FieldRef').map((f) => requiredName(f, 'field'));
      if (fields.length === 0) fail(p, 'PredictorTerm has no FieldRef');
      return { path: p.path, fields, coefficient: requiredNumber(p, 'coefficient') };
    }),
  }));
  if (tables.length === 0) fail(element, 'RegressionModel has no RegressionTable');
  return {
    ...readModelBase(element),
    element: 'RegressionModel',
    normalizationMethod: enumOr(
      element,
      'normalizationMethod',
      ['none', 'simplemax', 'softmax', 'logit', 'probit', 'cloglog', 'exp', 'loglog', 'cauchit'],
      'none',
    ),
    tables,
  };
}

function readTreeModel(element: XmlElement): TreeModel {
  const strategy = optionalString(element, 'missingValueStrategy') ?? 'none';
  const strategies = ['none', 'lastPrediction', 'nullPrediction', 'defaultChild'] as const;
  if (!(strategies as readonly string[]).includes(strategy)) {
    fail(element, `TreeModel missingValueStrategy '${strategy}' is not supported (supported: ${strategies.join(', ')})`);
  }
  return {
    ...readModelBase(element),
    element: 'TreeModel',
    missingValueStrategy: strategy as TreeModel['missingValueStrategy'],
    noTrueChildStrategy: enumOr(element, 'noTrueChildStrategy', ['returnNullPrediction', 'returnLastPrediction'], 'returnNullPrediction'),
    root: readNode(requiredChild(element, 'Node')),
  };
}

function readNode(element: XmlElement): TreeNode {
  const embedded = childAmong(element, ['Regression', 'DecisionTree']);
  if (embedded !== undefined) fail(embedded, `a Node with an embedded ${embedded.name} model is not supported`);
  return {
    path: element.path,
    id: optionalString(element, 'id'),
    score: optionalString(element, 'score'),
    recordCount: optionalNumber(element, 'recordCount'),
    defaultChild: optionalString(element, 'defaultChild'),
    predicate: readPredicateChild(element),
    scoreDistributions: childrenNamed(element, 'ScoreDistribution').map((d) => ({
      path: d.path,
      value: requiredString(d, 'value'),
      recordCount: numberOr(d, 'recordCount', 0),
      probability: optionalNumber(d, 'probability'),
    })),
    children: childrenNamed(element, 'Node').map(readNode),
  };
}

const multipleModelMethods: readonly MultipleModelMethod[] = [
  'sum',
  'weightedSum',
  'average',
  'weightedAverage',
  'median',
  'max',
  'majorityVote',
  'weightedMajorityVote',
  'modelChain',
  'selectFirst',
];

function readMiningModel(element: XmlElement): MiningModel {
  const embedded = childAmong(element, ['Regression', 'DecisionTree']);
  if (embedded !== undefined) fail(embedded, `a MiningModel with an embedded ${embedded.name} model is not supported: use a Segmentation`);
  const segmentation = requiredChild(element, 'Segmentation');
  const method = requiredString(segmentation, 'multipleModelMethod');
  if (!(multipleModelMethods as readonly string[]).includes(method)) {
    fail(segmentation, `multipleModelMethod '${method}' is not supported (supported: ${multipleModelMethods.join(', ')})`);
  }
  const segments = childrenNamed(segmentation, 'Segment').map(readSegment);
  if (segments.length === 0) fail(segmentation, 'Segmentation has no Segment');
  const base = readModelBase(element);
  // PMML 4.4 lets a Segmentation carry its own LocalTransformations: they act as the model's.
  const local = childNamed(segmentation, 'LocalTransformations');
  return {
    ...base,
    localTransformations: [...base.localTransformations, ...(local === undefined ? [] : childrenNamed(local, 'DerivedField').map(readDerivedField))],
    element: 'MiningModel',
    multipleModelMethod: method as MultipleModelMethod,
    missingPredictionTreatment: enumOr(segmentation, 'missingPredictionTreatment', ['continue', 'skipSegment', 'returnMissing'], 'continue'),
    segments,
  };
}

function readSegment(element: XmlElement): Segment {
  const model = childAmong(element, modelElements);
  if (model === undefined) fail(element, `Segment has no model element (supported: ${supportedModelElements.join(', ')})`);
  return {
    path: element.path,
    id: optionalString(element, 'id'),
    weight: numberOr(element, 'weight', 1),
    predicate: readPredicateChild(element),
    model: readModel(model),
  };
}

function readScorecard(element: XmlElement): Scorecard {
  const base = readModelBase(element);
  if (base.functionName !== 'regression') fail(element, `Scorecard has functionName '${base.functionName}'; a Scorecard is a regression`);
  const characteristics = childrenNamed(requiredChild(element, 'Characteristics'), 'Characteristic').map((c): Characteristic => ({
    path: c.path,
    name: optionalString(c, 'name'),
    reasonCode: optionalString(c, 'reasonCode'),
    baselineScore: optionalNumber(c, 'baselineScore'),
    attributes: childrenNamed(c, 'Attribute').map((a) => {
      const complex = childNamed(a, 'ComplexPartialScore');
      const partialScore = optionalNumber(a, 'partialScore');
      if (complex === undefined && partialScore === undefined) fail(a, 'Attribute has neither a partialScore nor a ComplexPartialScore');
      return {
        path: a.path,
        predicate: readPredicateChild(a),
        reasonCode: optionalString(a, 'reasonCode'),
        partialScore,
        complexPartialScore: complex === undefined ? undefined : readExpressionChild(complex),
      };
    }),
  }));
  if (characteristics.length === 0) fail(element, 'Scorecard has no Characteristic');
  for (const c of characteristics) {
    if (c.attributes.length === 0) throw new PmmlError('Characteristic has no Attribute', c.path);
  }
  return {
    ...base,
    element: 'Scorecard',
    initialScore: numberOr(element, 'initialScore', 0),
    useReasonCodes: booleanOr(element, 'useReasonCodes', true),
    reasonCodeAlgorithm: enumOr(element, 'reasonCodeAlgorithm', ['pointsBelow', 'pointsAbove'], 'pointsBelow'),
    baselineScore: optionalNumber(element, 'baselineScore'),
    characteristics,
  };
}
