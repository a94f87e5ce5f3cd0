/**
 * The typed document → one compiled model: closures and arrays built once, when the model
 * loads, so that scoring a row never looks at the document again.
 *
 * The top-level model's active MiningFields are the inputs (in MiningSchema order); its scope
 * also holds the TransformationDictionary's DerivedFields. A nested model (a segment) sees its
 * own MiningSchema's fields (its parent's values, after its own replacements), its
 * LocalTransformations, and everything its parent sees.
 */
import type { DataType, Model, OpType, PmmlDocument } from './document.js';
import { PmmlError } from './errors.js';
import { compileDerivedField, defineDerivedFields } from './expressions.js';
import { applyMiningField, compileDomain, inputGetter } from './fields.js';
import { compileMiningModel } from './models/mining.js';
import { applyTargets, targetOf, type ClassLabel, type CompiledModel, type Evaluator, type OutputFieldDef, type Prediction } from './models/model.js';
import { compileRegressionModel } from './models/regression.js';
import { compileScorecard } from './models/scorecard.js';
import { compileTreeModel } from './models/tree.js';
import { compileOutput } from './output.js';
import { Row, Scope, Slots, type CompileContext } from './scope.js';

export interface InputField {
  readonly name: string;
  readonly dataType: DataType;
  readonly optype: OpType;
}

export interface CompiledPmml {
  /** The model element's `modelName`, if it has one. */
  readonly modelName: string | undefined;
  readonly element: Model['element'];
  readonly functionName: Model['functionName'];
  /** One per active MiningField of the top-level model, in MiningSchema order. */
  readonly inputs: readonly InputField[];
  /** The classes of a classification model, in their fixed order. */
  readonly classes: readonly ClassLabel[] | undefined;
  /** The top-level OutputFields with isFinalResult. */
  readonly outputFields: readonly OutputFieldDef[];
  /** A fresh row state for scoring one batch. */
  newRow(): Row;
  /** Scores the current row of `row` and writes the output fields. */
  run(row: Row): Prediction;
}

export function compilePmml(document: PmmlDocument): CompiledPmml {
  const dataFields = new Map(document.dataDictionary.map((f) => [f.name, f]));
  if (dataFields.size !== document.dataDictionary.length) {
    const seen = new Set<string>();
    for (const f of document.dataDictionary) {
      if (seen.has(f.name)) throw new PmmlError(`DataField '${f.name}' is defined twice`, f.path);
      seen.add(f.name);
    }
  }
  const ctx: CompileContext = {
    slots: new Slots(),
    dataFields,
    functions: new Map(document.transformations.functions.map((f) => [f.name, f])),
    inlineDepth: 0,
  };
  const inputs: InputField[] = [];
  const top = compileModel(document.model, undefined, ctx, { inputs, document });
  if (inputs.length === 0) {
    throw new PmmlError('the model has no active MiningField: there is no input to score it on', document.model.path);
  }
  const slotCount = ctx.slots.count;
  return {
    modelName: document.model.modelName,
    element: document.model.element,
    functionName: document.model.functionName,
    inputs,
    classes: top.evaluator.kind === 'classification' ? top.evaluator.classes : undefined,
    outputFields: top.outputFields.filter((f) => f.isFinalResult),
    newRow: () => new Row(slotCount),
    run: top.run,
  };
}

interface TopLevel {
  readonly inputs: InputField[];
  readonly document: PmmlDocument;
}

function compileModel(model: Model, parent: Scope | undefined, ctx: CompileContext, top: TopLevel | undefined): CompiledModel {
  const owner = `${model.element}${model.modelName === undefined ? '' : ` '${model.modelName}'`}`;
  const scope = new Scope(parent, owner);
  const target = targetOf(model, ctx);
  for (const miningField of model.miningSchema) {
    if (miningField.usageType !== 'active') continue;
    const { name, path } = miningField;
    if (top !== undefined) {
      const dataField = ctx.dataFields.get(name);
      if (dataField === undefined) throw new PmmlError(`MiningField '${name}' names no DataField of the DataDictionary`, path);
      const index = top.inputs.length;
      top.inputs.push({ name, dataType: dataField.dataType, optype: dataField.optype });
      const source = { name, dataType: dataField.dataType, optype: dataField.optype, get: inputGetter(index, dataField.dataType) };
      scope.define(name, applyMiningField(miningField, source, compileDomain(dataField), ctx), path);
    } else {
      const source = (parent as Scope).resolve(name, path);
      scope.define(name, applyMiningField(miningField, source, undefined, ctx), path);
    }
  }
  if (top !== undefined) {
    for (const field of top.document.transformations.derivedFields) {
      scope.defineLazy(field.name, () => compileDerivedField(field, scope, ctx), field.path);
    }
  }
  defineDerivedFields(model.localTransformations, scope, ctx, model.path);

  let evaluator: Evaluator;
  switch (model.element) {
    case 'RegressionModel':
      evaluator = compileRegressionModel(model, scope, target);
      break;
    case 'TreeModel':
      evaluator = compileTreeModel(model, scope, target);
      break;
    case 'Scorecard':
      evaluator = compileScorecard(model, scope, ctx);
      break;
    case 'MiningModel':
      evaluator = compileMiningModel(model, scope, target, (nested, nestedParent) => compileModel(nested, nestedParent, ctx, undefined));
      break;
  }
  evaluator = applyTargets(evaluator, model, target);
  const output = compileOutput(model, evaluator, target, scope, ctx);
  const write = output.write;
  let run: (row: Row) => Prediction;
  if (evaluator.kind === 'regression') {
    const score = evaluator.score;
    run = (row) => {
      const prediction = score(row);
      write(row, prediction);
      return prediction;
    };
  } else {
    const classify = evaluator.classify;
    run = (row) => {
      const prediction = classify(row);
      write(row, prediction);
      return prediction;
    };
  }
  return { evaluator, target, outputFields: output.fields, run };
}
