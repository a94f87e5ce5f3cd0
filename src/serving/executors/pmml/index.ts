/**
 * The embedded PMML executor (`modelType: 'PMML'`): scores PMML 4.x documents as exporters
 * (sklearn2pmml / JPMML, R `pmml`, KNIME) write them, with no PMML library (none exists on npm).
 * The XML is parsed once into a typed document (`parse.ts`), which compiles into closures and
 * arrays (`compile.ts`); scoring a row runs those closures and never looks at XML.
 *
 * Supported: DataDictionary (Values valid/invalid/missing, Intervals), MiningSchema (usage
 * types, missingValueReplacement, missingValueTreatment returnInvalid, invalidValueTreatment
 * returnInvalid/asIs/asMissing/asValue, outliers), Targets (min/max, rescaleFactor,
 * rescaleConstant, castInteger, default value, prior probabilities), TransformationDictionary
 * and LocalTransformations (Constant, FieldRef, NormContinuous, NormDiscrete, Discretize,
 * MapValues with an InlineTable, Apply with PMML's arithmetic, math, comparison, boolean, set,
 * `if` and string functions, DefineFunction), RegressionModel, TreeModel, MiningModel and
 * Scorecard (see each module under `models/`), Output (predictedValue, probability,
 * transformedValue, reasonCode).
 *
 * ## Tensors
 *
 * Inputs (`metadata().inputs`): one tensor per active MiningField of the top-level model, named
 * by the field, shape [-1,1] (rank 1 [n] is accepted too): `float32` for integer, float, double
 * and boolean fields (float64, int32, uint8 and bool tensors are accepted as well: a float64
 * keeps a double field's full precision), `string` for string fields. A NaN, or an empty
 * string, is a missing value.
 *
 * Outputs (`metadata().outputs`), each [n,1]:
 * - `predictions` float32: the predicted value of a regression model (after Targets); for a
 *   classification model, the probability of its *last* class. Classes are ordered as the
 *   target DataField declares its Values or, if it declares none, sorted (numerically for a
 *   numeric target): for a 0/1 or no/yes target that is the probability of 1 / yes. NaN when
 *   the model gives no prediction for the row.
 * - classification only: `label` string (the predicted class; '' for none) and one
 *   `probability_<class>` float32 per class.
 * - every top-level OutputField with isFinalResult (the default), named by the field: string
 *   for string fields (missing → ''), float32 otherwise (missing → NaN). An OutputField named
 *   `predictions`, `label` or `probability_<class>` replaces the built-in tensor.
 *
 * Errors: a document that is not XML, not PMML, uses an unsupported model element, function,
 * feature or attribute value, or refers to a field it does not define is rejected at load with
 * SLUICE_ERR_MODEL_INVALID, naming the reason and the element path. A row that cannot be scored
 * (an invalid value under `returnInvalid`, an arithmetic result that is not a number, a
 * Scorecard characteristic that no attribute matches) fails the batch with
 * SLUICE_ERR_INFERENCE_FAILED naming the row; the model-serving streamlet then scores the
 * batch's records one by one, so only that record gets an error result.
 */
export { pmmlExecutor } from './executor.js';
