/**
 * Output: the OutputFields a model computes from its result after scoring a row, in document
 * order (a `transformedValue` may use the fields before it). Supported features:
 * `predictedValue`, `probability` (of the class `value`, or of the predicted class),
 * `transformedValue` (an expression), `reasonCode` (Scorecards; `rank` 1 = the first).
 */
import type { DataType, Model, OutputField } from './document.js';
import { PmmlError, PmmlRowError } from './errors.js';
import { compileExpression } from './expressions.js';
import { indexOfClass, type Evaluator, type OutputFieldDef, type Prediction, type TargetInfo } from './models/model.js';
import { Scope, slotReader, writeSlot, type CompileContext, type Row } from './scope.js';
import { convert, describe, INVALID, isNumericType, type Value } from './values.js';

export interface CompiledOutput {
  readonly fields: readonly OutputFieldDef[];
  /** Computes every output field for the row's prediction and stores it. */
  write(row: Row, prediction: Prediction): void;
}

type Compute = (row: Row, prediction: Prediction, reasons: () => readonly string[]) => Value;

export function compileOutput(model: Model, evaluator: Evaluator, target: TargetInfo, modelScope: Scope, ctx: CompileContext): CompiledOutput {
  if (model.output.length === 0) return { fields: [], write: () => undefined };
  const scope = new Scope(modelScope, `the Output of ${model.element}`);
  const fields: OutputFieldDef[] = [];
  const writers: { slot: number; compute: Compute }[] = [];
  for (const field of model.output) {
    const { compute, dataType } = compileField(field, evaluator, target, scope, ctx);
    const slot = ctx.slots.allocate();
    const declared = field.dataType ?? dataType;
    const def: OutputFieldDef = {
      name: field.name,
      dataType: declared,
      optype: isNumericType(declared) ? 'continuous' : 'categorical',
      get: slotReader(slot),
      isFinalResult: field.isFinalResult,
      path: field.path,
    };
    const converted: Compute =
      declared === dataType
        ? compute
        : (row, prediction, reasons) => {
            const value = compute(row, prediction, reasons);
            if (value === null) return null;
            const cast = convert(value, declared);
            if (cast === INVALID) throw new PmmlRowError(`OutputField '${field.name}': ${describe(value)} is not a valid ${declared}`);
            return cast;
          };
    scope.define(field.name, def, field.path);
    fields.push(def);
    writers.push({ slot, compute: converted });
  }
  const reasonCodes = evaluator.kind === 'regression' ? evaluator.reasonCodes : undefined;
  return {
    fields,
    write: (row, prediction) => {
      let reasons: readonly string[] | undefined;
      const lazyReasons = (): readonly string[] => (reasons ??= reasonCodes === undefined ? [] : reasonCodes(row));
      for (const writer of writers) writeSlot(row, writer.slot, writer.compute(row, prediction, lazyReasons));
    },
  };
}

function compileField(
  field: OutputField,
  evaluator: Evaluator,
  target: TargetInfo,
  scope: Scope,
  ctx: CompileContext,
): { compute: Compute; dataType: DataType } {
  switch (field.feature) {
    case 'predictedValue': {
      if (evaluator.kind === 'regression') {
        return { compute: (_row, p) => (typeof p === 'number' && p === p ? p : null), dataType: 'double' };
      }
      const classes = evaluator.classes;
      return { compute: (_row, p) => (p === undefined || typeof p === 'number' ? null : (classes[p.index]?.value ?? null)), dataType: target.dataType };
    }
    case 'probability': {
      if (evaluator.kind !== 'classification') {
        throw new PmmlError(`OutputField '${field.name}' asks for a probability, but the model is a regression`, field.path);
      }
      if (field.value === undefined) {
        return { compute: (_row, p) => (p === undefined || typeof p === 'number' ? null : (p.probabilities[p.index] as number)), dataType: 'double' };
      }
      const k = indexOfClass(evaluator.classes, target, field.value, field.path);
      return { compute: (_row, p) => (p === undefined || typeof p === 'number' ? null : (p.probabilities[k] as number)), dataType: 'double' };
    }
    case 'transformedValue': {
      const expression = compileExpression(field.expression as NonNullable<OutputField['expression']>, scope, ctx);
      const get = expression.get;
      return { compute: (row) => get(row), dataType: expression.dataType };
    }
    case 'reasonCode': {
      if (evaluator.kind !== 'regression' || evaluator.reasonCodes === undefined) {
        throw new PmmlError(`OutputField '${field.name}' asks for a reason code, which only a Scorecard with useReasonCodes gives`, field.path);
      }
      const rank = field.rank;
      if (!Number.isInteger(rank) || rank < 1) throw new PmmlError(`OutputField '${field.name}' has rank ${rank}; ranks start at 1`, field.path);
      return { compute: (_row, _p, reasons) => reasons()[rank - 1] ?? null, dataType: 'string' };
    }
  }
}
