/**
 * The feature-vector view of a model: which record fields fill which input tensor columns
 * (the same mapping the fields adapter serves with), and which output value is explained.
 * It turns records into feature vectors and a loaded model into a {@link Predict} over them.
 */
import type { LoadedModel, ModelMetadata } from '../../serving/executor.js';
import { FieldsMapping, type NumericFieldOf } from '../../serving/fields-adapter.js';
import { formatShape, tensor, type NamedTensors } from '../../serving/tensor.js';
import type { Predict } from './attribution.js';

/** The explained output: a tensor, and which of its values per record (default 0). */
export type ExplainedOutput = string | { readonly name: string; readonly index?: number };

export interface ModelFeaturesOptions<V> {
  /** Input tensor name → the record fields that fill its columns, in order: float32 `[n, fields.length]`. */
  readonly inputs: Readonly<Record<string, readonly NumericFieldOf<V>[]>>;
  readonly output: ExplainedOutput;
}

export class ModelFeatures<V> {
  /** Feature names in vector order: the inputs' fields, tensor after tensor. */
  readonly names: readonly string[];
  readonly outputName: string;
  readonly outputIndex: number;
  private readonly mapping: FieldsMapping<V>;
  private readonly tensors: readonly (readonly [name: string, offset: number, width: number])[];

  constructor(options: ModelFeaturesOptions<V>) {
    const output = typeof options.output === 'string' ? { name: options.output } : options.output;
    this.outputName = output.name;
    this.outputIndex = output.index ?? 0;
    if (!Number.isSafeInteger(this.outputIndex) || this.outputIndex < 0)
      throw new RangeError(`output index must be a whole number ≥ 0, got ${this.outputIndex}`);
    this.mapping = new FieldsMapping<V>({ inputs: options.inputs, outputs: [this.outputName] });
    let offset = 0;
    this.tensors = Object.entries(options.inputs).map(([name, fields]) => {
      const entry = [name, offset, fields.length] as const;
      offset += fields.length;
      return entry;
    });
    this.names = Object.values(options.inputs).flat();
  }

  /** The explained output as explanations name it, e.g. `score[0]`. */
  get output(): string {
    return `${this.outputName}[${this.outputIndex}]`;
  }

  /** Why a loaded model cannot be explained through this view; empty when it can. */
  check(metadata: ModelMetadata): string[] {
    const problems = this.mapping.check(metadata);
    const spec = metadata.outputs.find((s) => s.name === this.outputName);
    const row = spec?.shape.slice(1) ?? [];
    if (spec && row.length > 0 && row.every((d) => d >= 0)) {
      const width = row.reduce((a, b) => a * b, 1);
      if (this.outputIndex >= width)
        problems.push(`output '${this.outputName}' has ${width} values per record (shape ${formatShape(spec.shape)}), so it has no index ${this.outputIndex}`);
    }
    return problems;
  }

  /** The record's feature vector, or why it has none (a missing or non-numeric field). */
  vector(record: V): Float64Array | string {
    const reason = this.mapping.reject(record);
    if (reason !== undefined) return reason;
    const values = record as Readonly<Record<string, number>>;
    return Float64Array.from(this.names, (name) => values[name] as number);
  }

  /** The loaded model as a function of feature rows. */
  predictor(model: LoadedModel): Predict {
    const features = this.names.length;
    return async (rows, count) => {
      const inputs: Record<string, NamedTensors[string]> = {};
      for (const [name, offset, width] of this.tensors) {
        const data = new Float32Array(count * width);
        for (let r = 0; r < count; r++) for (let j = 0; j < width; j++) data[r * width + j] = rows[r * features + offset + j] as number;
        inputs[name] = tensor('float32', [count, width], data);
      }
      const output = (await model.infer(inputs))[this.outputName];
      if (!output || Array.isArray(output.data)) throw new Error(`the model returned no numeric output '${this.outputName}'`);
      const width = output.data.length / count;
      if (!Number.isInteger(width) || this.outputIndex >= width) {
        throw new Error(`output '${this.outputName}' holds ${output.data.length} values for ${count} rows: no value ${this.outputIndex} per row`);
      }
      const data = output.data;
      return Float64Array.from({ length: count }, (_, r) => Number(data[r * width + this.outputIndex]));
    };
  }
}
