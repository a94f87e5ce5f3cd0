/**
 * The typed PMML document model: what `parse.ts` reads out of the XML and `compile.ts` turns
 * into evaluator closures. It holds the subset of PMML 4.4 this executor serves; every node
 * keeps the `path` of its element so that a compile-time problem (an undefined field, a type
 * mismatch) can say where it is.
 */

export type DataType = 'string' | 'integer' | 'float' | 'double' | 'boolean';
export type OpType = 'categorical' | 'ordinal' | 'continuous';
export type Closure = 'openClosed' | 'openOpen' | 'closedOpen' | 'closedClosed';
export type MiningFunction = 'regression' | 'classification';

export interface Located {
  readonly path: string;
}

export interface PmmlDocument {
  readonly version: string;
  readonly dataDictionary: readonly DataField[];
  readonly transformations: TransformationDictionary;
  readonly model: Model;
}

// ---- DataDictionary ------------------------------------------------------------------------

export interface DataField extends Located {
  readonly name: string;
  readonly optype: OpType;
  readonly dataType: DataType;
  readonly values: readonly FieldValue[];
  readonly intervals: readonly Interval[];
}

export interface FieldValue {
  readonly value: string;
  readonly property: 'valid' | 'invalid' | 'missing';
}

export interface Interval {
  readonly closure: Closure;
  /** −∞ when the element has no `leftMargin`. */
  readonly leftMargin: number;
  /** +∞ when the element has no `rightMargin`. */
  readonly rightMargin: number;
}

// ---- MiningSchema, Targets -----------------------------------------------------------------

export type UsageType = 'active' | 'target' | 'supplementary' | 'group' | 'order' | 'frequencyWeight' | 'analysisWeight';
export type InvalidValueTreatment = 'returnInvalid' | 'asIs' | 'asMissing' | 'asValue';
export type MissingValueTreatment = 'asIs' | 'asMean' | 'asMode' | 'asMedian' | 'asValue' | 'returnInvalid';
export type OutlierTreatment = 'asIs' | 'asMissingValues' | 'asExtremeValues';

export interface MiningField extends Located {
  readonly name: string;
  readonly usageType: UsageType;
  readonly missingValueReplacement: string | undefined;
  readonly missingValueTreatment: MissingValueTreatment | undefined;
  readonly invalidValueTreatment: InvalidValueTreatment;
  readonly invalidValueReplacement: string | undefined;
  readonly outliers: OutlierTreatment;
  readonly lowValue: number | undefined;
  readonly highValue: number | undefined;
}

export interface Target extends Located {
  readonly field: string | undefined;
  readonly rescaleFactor: number;
  readonly rescaleConstant: number;
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly castInteger: 'round' | 'ceiling' | 'floor' | undefined;
  readonly values: readonly TargetValue[];
}

export interface TargetValue extends Located {
  readonly value: string | undefined;
  readonly defaultValue: number | undefined;
  readonly priorProbability: number | undefined;
}

// ---- Transformations -----------------------------------------------------------------------

export interface TransformationDictionary {
  readonly derivedFields: readonly DerivedField[];
  readonly functions: readonly DefineFunction[];
}

export interface DerivedField extends Located {
  readonly name: string;
  readonly optype: OpType | undefined;
  readonly dataType: DataType;
  readonly expression: Expression;
}

export interface DefineFunction extends Located {
  readonly name: string;
  readonly dataType: DataType | undefined;
  readonly parameters: readonly { readonly name: string; readonly dataType: DataType | undefined }[];
  readonly expression: Expression;
}

export type Expression = ConstantExpr | FieldRefExpr | NormContinuousExpr | NormDiscreteExpr | DiscretizeExpr | MapValuesExpr | ApplyExpr;

export interface ConstantExpr extends Located {
  readonly kind: 'Constant';
  readonly value: string;
  readonly dataType: DataType | undefined;
  readonly missing: boolean;
}

export interface FieldRefExpr extends Located {
  readonly kind: 'FieldRef';
  readonly field: string;
  readonly mapMissingTo: string | undefined;
}

export interface NormContinuousExpr extends Located {
  readonly kind: 'NormContinuous';
  readonly field: string;
  readonly mapMissingTo: number | undefined;
  readonly outliers: OutlierTreatment;
  /** LinearNorm points, strictly ascending in `orig`. */
  readonly points: readonly { readonly orig: number; readonly norm: number }[];
}

export interface NormDiscreteExpr extends Located {
  readonly kind: 'NormDiscrete';
  readonly field: string;
  readonly value: string;
  readonly mapMissingTo: number | undefined;
}

export interface DiscretizeExpr extends Located {
  readonly kind: 'Discretize';
  readonly field: string;
  readonly mapMissingTo: string | undefined;
  readonly defaultValue: string | undefined;
  readonly dataType: DataType | undefined;
  readonly bins: readonly { readonly binValue: string; readonly interval: Interval }[];
}

export interface MapValuesExpr extends Located {
  readonly kind: 'MapValues';
  readonly outputColumn: string;
  readonly mapMissingTo: string | undefined;
  readonly defaultValue: string | undefined;
  readonly dataType: DataType | undefined;
  readonly pairs: readonly { readonly field: string; readonly column: string }[];
  /** InlineTable rows: column name → cell text. */
  readonly rows: readonly Readonly<Record<string, string>>[];
}

export interface ApplyExpr extends Located {
  readonly kind: 'Apply';
  readonly function: string;
  readonly mapMissingTo: string | undefined;
  readonly defaultValue: string | undefined;
  readonly invalidValueTreatment: 'returnInvalid' | 'asIs' | 'asMissing';
  readonly args: readonly Expression[];
}

// ---- Predicates ----------------------------------------------------------------------------

export type Predicate = SimplePredicate | CompoundPredicate | SimpleSetPredicate | ConstantPredicate;

export type SimpleOperator = 'equal' | 'notEqual' | 'lessThan' | 'lessOrEqual' | 'greaterThan' | 'greaterOrEqual' | 'isMissing' | 'isNotMissing';

export interface SimplePredicate extends Located {
  readonly kind: 'SimplePredicate';
  readonly field: string;
  readonly operator: SimpleOperator;
  /** Absent for isMissing / isNotMissing. */
  readonly value: string | undefined;
}

export interface CompoundPredicate extends Located {
  readonly kind: 'CompoundPredicate';
  readonly booleanOperator: 'and' | 'or' | 'xor' | 'surrogate';
  readonly predicates: readonly Predicate[];
}

export interface SimpleSetPredicate extends Located {
  readonly kind: 'SimpleSetPredicate';
  readonly field: string;
  readonly booleanOperator: 'isIn' | 'isNotIn';
  readonly values: readonly string[];
}

export interface ConstantPredicate extends Located {
  readonly kind: 'True' | 'False';
}

// ---- Output --------------------------------------------------------------------------------

export type OutputFeature = 'predictedValue' | 'probability' | 'transformedValue' | 'reasonCode';

export interface OutputField extends Located {
  readonly name: string;
  readonly feature: OutputFeature;
  /** The class whose probability a `probability` field gives (default: the predicted class). */
  readonly value: string | undefined;
  readonly dataType: DataType | undefined;
  readonly isFinalResult: boolean;
  /** Which reason code a `reasonCode` field gives: 1 = the most important. */
  readonly rank: number;
  /** A `transformedValue` field's expression. */
  readonly expression: Expression | undefined;
}

// ---- Models --------------------------------------------------------------------------------

export type Model = RegressionModel | TreeModel | MiningModel | Scorecard;

export interface ModelBase extends Located {
  readonly modelName: string | undefined;
  readonly functionName: MiningFunction;
  readonly miningSchema: readonly MiningField[];
  readonly localTransformations: readonly DerivedField[];
  readonly targets: readonly Target[];
  readonly output: readonly OutputField[];
}

export type NormalizationMethod = 'none' | 'simplemax' | 'softmax' | 'logit' | 'probit' | 'cloglog' | 'exp' | 'loglog' | 'cauchit';

export interface RegressionModel extends ModelBase {
  readonly element: 'RegressionModel';
  readonly normalizationMethod: NormalizationMethod;
  readonly tables: readonly RegressionTable[];
}

export interface RegressionTable extends Located {
  readonly intercept: number;
  readonly targetCategory: string | undefined;
  readonly numericPredictors: readonly { readonly field: string; readonly exponent: number; readonly coefficient: number; readonly path: string }[];
  readonly categoricalPredictors: readonly { readonly field: string; readonly value: string; readonly coefficient: number; readonly path: string }[];
  readonly predictorTerms: readonly { readonly fields: readonly string[]; readonly coefficient: number; readonly path: string }[];
}

export type MissingValueStrategy = 'none' | 'lastPrediction' | 'nullPrediction' | 'defaultChild';
export type NoTrueChildStrategy = 'returnNullPrediction' | 'returnLastPrediction';

export interface TreeModel extends ModelBase {
  readonly element: 'TreeModel';
  readonly missingValueStrategy: MissingValueStrategy;
  readonly noTrueChildStrategy: NoTrueChildStrategy;
  readonly root: TreeNode;
}

export interface TreeNode extends Located {
  readonly id: string | undefined;
  readonly score: string | undefined;
  readonly recordCount: number | undefined;
  readonly defaultChild: string | undefined;
  readonly predicate: Predicate;
  readonly scoreDistributions: readonly ScoreDistribution[];
  readonly children: readonly TreeNode[];
}

export interface ScoreDistribution extends Located {
  readonly value: string;
  readonly recordCount: number;
  readonly probability: number | undefined;
}

export type MultipleModelMethod =
  'sum' | 'weightedSum' | 'average' | 'weightedAverage' | 'median' | 'max' | 'majorityVote' | 'weightedMajorityVote' | 'modelChain' | 'selectFirst';

export type MissingPredictionTreatment = 'continue' | 'skipSegment' | 'returnMissing';

export interface MiningModel extends ModelBase {
  readonly element: 'MiningModel';
  readonly multipleModelMethod: MultipleModelMethod;
  readonly missingPredictionTreatment: MissingPredictionTreatment;
  readonly segments: readonly Segment[];
}

export interface Segment extends Located {
  readonly id: string | undefined;
  readonly weight: number;
  readonly predicate: Predicate;
  readonly model: Model;
}

export interface Scorecard extends ModelBase {
  readonly element: 'Scorecard';
  readonly initialScore: number;
  readonly useReasonCodes: boolean;
  readonly reasonCodeAlgorithm: 'pointsBelow' | 'pointsAbove';
  readonly baselineScore: number | undefined;
  readonly characteristics: readonly Characteristic[];
}

export interface Characteristic extends Located {
  readonly name: string | undefined;
  readonly reasonCode: string | undefined;
  readonly baselineScore: number | undefined;
  readonly attributes: readonly ScorecardAttribute[];
}

export interface ScorecardAttribute extends Located {
  readonly predicate: Predicate;
  readonly reasonCode: string | undefined;
  readonly partialScore: number | undefined;
  readonly complexPartialScore: Expression | undefined;
}

/** Every model element of PMML 4.4, to tell an unsupported model from an unknown element. */
export const pmmlModelElements = [
  'AnomalyDetectionModel',
  'AssociationModel',
  'BayesianNetworkModel',
  'BaselineModel',
  'ClusteringModel',
  'GaussianProcessModel',
  'GeneralRegressionModel',
  'MiningModel',
  'NaiveBayesModel',
  'NearestNeighborModel',
  'NeuralNetwork',
  'RegressionModel',
  'RuleSetModel',
  'SequenceModel',
  'Scorecard',
  'SupportVectorMachineModel',
  'TextModel',
  'TimeSeriesModel',
  'TreeModel',
] as const;

export const supportedModelElements = ['RegressionModel', 'TreeModel', 'MiningModel', 'Scorecard'] as const;
