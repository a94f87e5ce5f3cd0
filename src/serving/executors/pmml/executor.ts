/**
 * The PMML executor: loads a PMML document (descriptor bytes or a local file), compiles it once,
 * and scores batches row by row over the compiled closures. `index.ts` documents the tensors.
 */
import { SluiceError, messageOf } from '../../../core/errors.js';
import type { ModelDescriptor } from '../../descriptor.js';
import type { CallOptions, Executor, LoadedModel, ModelMetadata } from '../../executor.js';
import type { DType, NamedTensors, Tensor, TensorSpec } from '../../tensor.js';
import { compilePmml, type CompiledPmml } from './compile.js';
import { PmmlError, PmmlRowError } from './errors.js';
import type { Prediction } from './models/model.js';
import { parsePmml } from './parse.js';
import type { Column, Row } from './scope.js';
import { invalidModel, modelBytesOf } from '../../model-source.js';
import { isNumericType, type Value } from './values.js';
import { decodeXml } from './xml.js';

export const pmmlExecutor: Executor = {
  modelType: 'PMML',
  async load(descriptor: ModelDescriptor, options?: CallOptions): Promise<LoadedModel> {
    options?.signal?.throwIfAborted();
    const bytes = await modelBytesOf(descriptor, 'PMML');
    let compiled: CompiledPmml;
    try {
      compiled = compilePmml(parsePmml(decodeXml(bytes)));
    } catch (err) {
      if (err instanceof PmmlError) throw invalidModel(descriptor, err.message, err);
      throw invalidModel(descriptor, `the PMML could not be compiled: ${messageOf(err)}`, err);
    }
    options?.signal?.throwIfAborted();
    return new PmmlModel(descriptor.modelName, compiled);
  },
};

/** One output tensor: its spec and how to read its value for the current row. */
interface OutputColumn {
  readonly spec: TensorSpec;
  readonly read: (row: Row, prediction: Prediction) => number | string;
}

const rowShape: readonly number[] = Object.freeze([-1, 1]);
const numericDTypes: ReadonlySet<DType> = new Set<DType>(['float32', 'float64', 'int32', 'uint8', 'bool']);

class PmmlModel implements LoadedModel {
  #compiled: CompiledPmml | undefined;
  readonly #columns: readonly OutputColumn[];
  readonly #signature: ModelMetadata;

  constructor(
    private readonly modelName: string,
    compiled: CompiledPmml,
  ) {
    this.#compiled = compiled;
    this.#columns = outputColumns(compiled);
    this.#signature = Object.freeze({
      inputs: Object.freeze(
        compiled.inputs.map((input): TensorSpec =>
          Object.freeze({ name: input.name, dtype: input.dataType === 'string' ? 'string' : 'float32', shape: rowShape }),
        ),
      ),
      outputs: Object.freeze(this.#columns.map((c) => c.spec)),
    });
  }

  metadata(): ModelMetadata {
    return this.#signature;
  }

  async infer(inputs: NamedTensors, options?: CallOptions): Promise<NamedTensors> {
    options?.signal?.throwIfAborted();
    const compiled = this.#compiled;
    if (compiled === undefined) throw this.failed('the model has been unloaded');
    let rows = -1;
    const columns: Column[] = compiled.inputs.map((input) => {
      const given = inputs[input.name];
      if (given === undefined) {
        const names = Object.keys(inputs);
        throw this.failed(
          `missing input '${input.name}': the model takes ${compiled.inputs.map((i) => `'${i.name}'`).join(', ')}` +
            `, the batch has ${names.length > 0 ? names.map((n) => `'${n}'`).join(', ') : 'no tensors'}`,
        );
      }
      const wanted = input.dataType === 'string' ? 'string' : 'float32';
      if (input.dataType === 'string' ? given.dtype !== 'string' : !numericDTypes.has(given.dtype)) {
        throw this.failed(`input '${input.name}' is ${given.dtype} but the model expects ${wanted} (its DataField is ${input.optype} ${input.dataType})`);
      }
      const [n, width = 1, ...rest] = given.shape;
      if (n === undefined || width !== 1 || rest.length > 0) {
        throw this.failed(`input '${input.name}' has shape [${given.shape.join(',')}]; a PMML field takes one value per row: [n,1] or [n]`);
      }
      if (rows >= 0 && n !== rows) throw this.failed(`input '${input.name}' has ${n} rows, but '${compiled.inputs[0]?.name}' has ${rows}`);
      rows = n;
      return given.data as Column;
    });

    const n = Math.max(rows, 0);
    const data = this.#columns.map((c) => (c.spec.dtype === 'string' ? new Array<string>(n) : new Float32Array(n)));
    const readers = this.#columns.map((c) => c.read);
    const row = compiled.newRow();
    row.columns = columns;
    const run = compiled.run;
    let i = 0;
    try {
      for (; i < n; i++) {
        row.moveTo(i);
        const prediction = run(row);
        for (let c = 0; c < readers.length; c++) {
          (data[c] as Float32Array | string[])[i] = (readers[c] as OutputColumn['read'])(row, prediction);
        }
      }
    } catch (err) {
      throw this.failed(`row ${i}: ${err instanceof PmmlRowError ? err.message : messageOf(err)}`, err);
    }
    const outputs: Record<string, Tensor> = {};
    this.#columns.forEach((c, k) => {
      outputs[c.spec.name] = { dtype: c.spec.dtype, shape: [n, 1], data: data[k] as Tensor['data'] };
    });
    return outputs;
  }

  async unload(): Promise<void> {
    this.#compiled = undefined;
  }

  private failed(message: string, cause?: unknown): SluiceError<'SLUICE_ERR_INFERENCE_FAILED'> {
    return new SluiceError('SLUICE_ERR_INFERENCE_FAILED', { modelName: this.modelName, message }, cause === undefined ? undefined : { cause });
  }
}

/**
 * The output tensors: `predictions` (+ `label` and `probability_<class>` for classification),
 * then the final OutputFields. An OutputField named like a built-in tensor replaces it.
 */
function outputColumns(compiled: CompiledPmml): OutputColumn[] {
  const columns = new Map<string, OutputColumn>();
  const float = (name: string, read: OutputColumn['read']): void => {
    columns.set(name, { spec: Object.freeze({ name, dtype: 'float32', shape: rowShape }), read });
  };
  const classes = compiled.classes;
  if (classes === undefined) {
    float('predictions', (_row, p) => (typeof p === 'number' ? p : NaN));
  } else {
    const last = classes.length - 1;
    float('predictions', (_row, p) => (p === undefined || typeof p === 'number' ? NaN : (p.probabilities[last] as number)));
    columns.set('label', {
      spec: Object.freeze({ name: 'label', dtype: 'string', shape: rowShape }),
      read: (_row, p) => (p === undefined || typeof p === 'number' ? '' : (classes[p.index]?.key ?? '')),
    });
    classes.forEach((label, k) => {
      float(`probability_${label.key}`, (_row, p) => (p === undefined || typeof p === 'number' ? NaN : (p.probabilities[k] as number)));
    });
  }
  for (const field of compiled.outputFields) {
    const get = field.get;
    if (field.dataType === 'string') {
      columns.set(field.name, {
        spec: Object.freeze({ name: field.name, dtype: 'string', shape: rowShape }),
        read: (row) => {
          const v: Value = get(row);
          return v === null ? '' : String(v);
        },
      });
    } else {
      const numeric = isNumericType(field.dataType);
      float(field.name, (row) => {
        const v: Value = get(row);
        return v === null ? NaN : numeric ? (v as number) : v === true ? 1 : v === false ? 0 : Number(v);
      });
    }
  }
  return [...columns.values()];
}
