/**
 * A generic {@link ServingAdapter} for the most common model contract: a record's numeric fields,
 * in a fixed order, as one row of a float32 matrix `[n, k]`, and output tensors read back as one
 * array of numbers per record. Any executor (ONNX, TF.js, an external server) can serve through it.
 *
 * The model's signature is checked when it loads ({@link FieldsMapping.check}), so a model that
 * does not fit is a rejected update with a message naming what differs, never a stream of
 * per-record failures.
 *
 * A record that cannot be converted (a field null, undefined or NaN, or a value no float32 can
 * hold) is rejected up front ({@link FieldsMapping.reject}): its result carries an error naming
 * the fields, and the rest of the batch is scored in the same model call.
 */
import type { ServingAdapter } from './adapter.js';
import type { ModelMetadata } from './executor.js';
import type { ModelResultMetadata } from './result-metadata.js';
import { formatShape, tensor, type NamedTensors, type Tensor, type TensorSpec } from './tensor.js';

/** The keys of `R` whose values are numbers (possibly null or undefined): the fields a mapping may use. */
export type NumericFieldOf<R> = {
  [K in keyof R & string]-?: R[K] extends number | null | undefined ? K : never;
}[keyof R & string];

/** An output tensor to read back. `width` (values per record) is checked at load time when given. */
export interface OutputField {
  readonly name: string;
  readonly width?: number;
}

export interface FieldsMappingOptions<R> {
  /** Input tensor name → the record fields that fill its columns, in order: float32 `[n, fields.length]`. */
  readonly inputs: Readonly<Record<string, readonly NumericFieldOf<R>[]>>;
  /** Output tensors read back per record; each has the batch as its first dimension. */
  readonly outputs: readonly (string | OutputField)[];
}

/** Each output tensor's values for one record, by output name (a `[n, 1]` output gives one number). */
export type FieldValues = Readonly<Record<string, number[]>>;

/**
 * The record ↔ tensor mapping on its own, for adapters that add their own pre- or
 * post-processing; {@link fieldsAdapter} wraps it as a complete {@link ServingAdapter}.
 */
export class FieldsMapping<R> {
  private readonly inputs: readonly (readonly [name: string, fields: readonly string[]])[];
  private readonly outputs: readonly OutputField[];

  constructor(options: FieldsMappingOptions<R>) {
    this.inputs = Object.entries(options.inputs).map(([name, fields]) => [name, [...fields]] as const);
    this.outputs = options.outputs.map((o) => (typeof o === 'string' ? { name: o } : { ...o }));
    if (this.inputs.length === 0) throw new RangeError('a fields mapping needs at least one input tensor');
    for (const [name, fields] of this.inputs) {
      if (fields.length === 0) throw new RangeError(`input '${name}' of the fields mapping has no fields`);
      const repeated = fields.filter((f, i) => fields.indexOf(f) !== i);
      if (repeated.length > 0) throw new RangeError(`input '${name}' of the fields mapping names ${repeated.join(', ')} twice`);
    }
    if (this.outputs.length === 0) throw new RangeError('a fields mapping needs at least one output tensor');
    for (const output of this.outputs) {
      if (output.width !== undefined && !(Number.isSafeInteger(output.width) && output.width > 0)) {
        throw new RangeError(`output '${output.name}': width must be a positive integer, got ${output.width}`);
      }
    }
  }

  /** Why a loaded model cannot serve through this mapping; empty when it fits. */
  check(metadata: ModelMetadata): string[] {
    const problems: string[] = [];
    const listed = (specs: readonly TensorSpec[]) => specs.map((s) => s.name).join(', ') || 'none';
    for (const [name, fields] of this.inputs) {
      const spec = metadata.inputs.find((s) => s.name === name);
      if (!spec) {
        problems.push(`the model has no input '${name}' (its inputs: ${listed(metadata.inputs)})`);
        continue;
      }
      const k = fields.length;
      if (spec.dtype !== 'float32') problems.push(`input '${name}' must be float32, the model's is ${spec.dtype}`);
      if (spec.shape.length !== 2) {
        problems.push(`input '${name}' must be a matrix [n,${k}] (a row of ${k} fields per record), the model's shape is ${formatShape(spec.shape)}`);
        continue;
      }
      const [rows = -1, columns = -1] = spec.shape;
      if (rows >= 0) problems.push(`input '${name}' has a fixed batch dimension of ${rows}: records are scored in batches, so it must be free`);
      if (columns >= 0 && columns !== k) {
        problems.push(`input '${name}' takes ${columns} values per row, but the mapping fills ${k} fields (${fields.join(', ')})`);
      }
    }
    const fed = new Set(this.inputs.map(([name]) => name));
    for (const spec of metadata.inputs) {
      if (!fed.has(spec.name)) problems.push(`the model also takes input '${spec.name}', which no record field fills`);
    }
    for (const output of this.outputs) {
      const spec = metadata.outputs.find((s) => s.name === output.name);
      if (!spec) {
        problems.push(`the model has no output '${output.name}' (its outputs: ${listed(metadata.outputs)})`);
        continue;
      }
      if (spec.dtype === 'string') problems.push(`output '${output.name}' must be numeric, the model's is string`);
      // An empty shape is a signature without shape information: the batch is checked when it runs.
      if (spec.shape.length === 0) continue;
      const [rows = -1, ...row] = spec.shape;
      if (rows >= 0) problems.push(`output '${output.name}' has a fixed batch dimension of ${rows}: it must be free, one entry per record`);
      const width = row.every((d) => d >= 0) ? row.reduce((a, b) => a * b, 1) : undefined;
      if (output.width !== undefined && width !== undefined && width !== output.width) {
        problems.push(`output '${output.name}' gives ${width} values per record (shape ${formatShape(spec.shape)}), ${output.width} expected`);
      }
    }
    return problems;
  }

  /** Why this record cannot be turned into tensor rows; undefined when it can. */
  reject(record: R): string | undefined {
    let missing: string[] | undefined;
    let invalid: string[] | undefined;
    for (const [, fields] of this.inputs) {
      for (const field of fields) {
        const value = (record as Readonly<Record<string, unknown>>)[field];
        if (typeof value === 'number' && Number.isFinite(Math.fround(value))) continue;
        if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) (missing ??= []).push(field);
        else (invalid ??= []).push(`${field}=${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
      }
    }
    if (!missing && !invalid) return undefined;
    const why = [missing && `missing fields: ${missing.join(', ')}`, invalid && `fields that are not float32 numbers: ${invalid.join(', ')}`];
    return `cannot score the record: ${why.filter(Boolean).join('; ')}`;
  }

  /** Input tensors holding one row per record, in record order (none of them rejected). */
  toInputs(rows: readonly R[]): NamedTensors {
    const inputs: Record<string, Tensor> = {};
    for (const [name, fields] of this.inputs) {
      const k = fields.length;
      const data = new Float32Array(rows.length * k);
      for (let r = 0; r < rows.length; r++) {
        const record = rows[r] as Readonly<Record<string, unknown>>;
        for (let j = 0; j < k; j++) data[r * k + j] = record[fields[j] as string] as number;
      }
      inputs[name] = tensor('float32', [rows.length, k], data);
    }
    return inputs;
  }

  /** Each record's output values, in order. */
  fromOutputs(records: readonly R[], outputs: NamedTensors): FieldValues[] {
    const columns = this.outputs.map((output) => ({ name: output.name, ...readOutput(output, outputs, records.length) }));
    return records.map((_, row) => {
      const values: Record<string, number[]> = {};
      for (const { name, width, read } of columns) values[name] = read(row * width, (row + 1) * width);
      return values;
    });
  }
}

/**
 * A complete serving adapter from a fields mapping. `result` gets the record's output values,
 * or `undefined` with `metadata.errors` saying why — scoring failed, or the record was rejected
 * (a missing field): the same contract either way.
 */
export function fieldsAdapter<R, Result>(
  mapping: FieldsMapping<R> | FieldsMappingOptions<R>,
  result: (record: R, values: FieldValues | undefined, metadata: ModelResultMetadata) => Result,
): ServingAdapter<R, FieldValues, Result> {
  const fields = mapping instanceof FieldsMapping ? mapping : new FieldsMapping(mapping);
  return {
    check: (metadata) => fields.check(metadata),
    reject: (record) => fields.reject(record),
    toInputs: (records) => fields.toInputs(records),
    fromOutputs: (records, outputs) => fields.fromOutputs(records, outputs),
    result,
  };
}

interface OutputColumn {
  /** Values per record. */
  readonly width: number;
  read(start: number, end: number): number[];
}

function readOutput(output: OutputField, outputs: NamedTensors, rows: number): OutputColumn {
  const t = outputs[output.name];
  if (t === undefined) throw new Error(`the model returned no output '${output.name}' (its outputs: ${Object.keys(outputs).join(', ') || 'none'})`);
  const data = t.data;
  if (Array.isArray(data)) throw new Error(`output '${output.name}' holds strings, numbers expected`);
  if (t.shape.length > 0 && t.shape[0] !== rows) {
    throw new Error(`output '${output.name}' has ${t.shape[0]} rows for a batch of ${rows} records (shape ${formatShape(t.shape)})`);
  }
  const width = rows === 0 ? (output.width ?? 0) : data.length / rows;
  if (!Number.isInteger(width) || (output.width !== undefined && rows > 0 && width !== output.width)) {
    throw new Error(`output '${output.name}' holds ${data.length} values for ${rows} records, ${output.width ?? 'a whole number'} per record expected`);
  }
  if (data instanceof BigInt64Array) return { width, read: (start, end) => Array.from(data.subarray(start, end), Number) };
  return { width, read: (start, end) => Array.from(data.subarray(start, end)) };
}
