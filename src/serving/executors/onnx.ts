/**
 * The embedded ONNX executor: the model runs inside the streaming process on onnxruntime-node.
 *
 * `session.run()` computes on the calling (main) thread and blocks the event loop while it
 * runs, so callers should score big batches and use worker threads for parallelism; one
 * intra-op thread per session is as fast as two on the shared 2-core machines (DESIGN.md).
 */
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { SluiceError, messageOf } from '../../core/errors.js';
import type { ModelDescriptor } from '../descriptor.js';
import type { CallOptions, Executor, LoadedModel, ModelMetadata } from '../executor.js';
import { invalidModel, modelBytesOf } from '../model-source.js';
import { emptyOutputs, inputFor } from '../signature.js';
import { type DType, type NamedTensors, type Tensor, type TensorSpec } from '../tensor.js';

export interface OnnxExecutorOptions {
  /** Threads one `run()` may use; default 1 (DESIGN.md: as fast as 2 on busy cores, no spinning). */
  readonly intraOpNumThreads?: number;
}

export interface OnnxExecutor extends Executor {
  /** Sessions loaded and not yet unloaded: one per serving model, none once all are closed. */
  readonly openSessions: number;
}

export function createOnnxExecutor(options: OnnxExecutorOptions = {}): OnnxExecutor {
  let open = 0;
  const sessionOptions: InferenceSession.SessionOptions = {
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Every load or run failure reaches the caller as a SluiceError carrying onnxruntime's
    // message; its own stderr logging would only print the same thing twice.
    logSeverityLevel: 4,
  };
  return {
    modelType: 'ONNX',
    get openSessions() {
      return open;
    },
    async load(descriptor: ModelDescriptor, callOptions?: CallOptions): Promise<LoadedModel> {
      callOptions?.signal?.throwIfAborted();
      const bytes = await modelBytesOf(descriptor, 'ONNX');
      let session: InferenceSession;
      try {
        session = await InferenceSession.create(bytes, sessionOptions);
      } catch (err) {
        throw invalidModel(descriptor, `onnxruntime rejected the model: ${messageOf(err)}`, err);
      }
      try {
        const metadata = readMetadata(descriptor.modelName, session);
        callOptions?.signal?.throwIfAborted();
        open++;
        return new OnnxModel(descriptor.modelName, session, metadata, () => open--);
      } catch (err) {
        await session.release();
        throw err;
      }
    },
  };
}

/** The default ONNX executor: every `load` makes its own session. */
export const onnxExecutor: OnnxExecutor = createOnnxExecutor();

class OnnxModel implements LoadedModel {
  #session: InferenceSession | undefined;

  constructor(
    private readonly modelName: string,
    session: InferenceSession,
    private readonly signature: ModelMetadata,
    private readonly released: () => void,
  ) {
    this.#session = session;
  }

  metadata(): ModelMetadata {
    return this.signature;
  }

  async infer(inputs: NamedTensors, options?: CallOptions): Promise<NamedTensors> {
    options?.signal?.throwIfAborted();
    const session = this.#session;
    if (session === undefined) throw this.failed('the model has been unloaded');

    // Only the model's inputs are fed; anything else the caller passed is ignored.
    const feeds: Record<string, OrtTensor> = {};
    for (const spec of this.signature.inputs) {
      feeds[spec.name] = toOrtTensor(this.checkInput(spec, inputs));
    }
    const fed = Object.values(feeds);
    if (fed.length > 0 && fed.every((t) => t.dims[0] === 0)) return emptyOutputs(this.signature);

    let results: InferenceSession.ReturnType;
    try {
      results = await session.run(feeds);
    } catch (err) {
      throw this.failed(messageOf(err), err);
    }
    const outputs: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(results)) {
      const dtype = sluiceDType(value.type);
      if (dtype === undefined) throw this.failed(`output '${name}' has element type ${value.type}, which Sluice tensors do not carry`);
      // Pass on the array the binding returned; Sluice makes no copy of its own.
      outputs[name] = { dtype, shape: [...value.dims], data: value.data as Tensor['data'] };
    }
    return outputs;
  }

  async unload(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    this.#session = undefined;
    this.released();
    await session.release();
  }

  private checkInput(spec: TensorSpec, inputs: NamedTensors): Tensor {
    const given = inputFor(this.signature, spec, inputs);
    if (typeof given === 'string') throw this.failed(given);
    return given;
  }

  private failed(message: string, cause?: unknown): SluiceError<'SLUICE_ERR_INFERENCE_FAILED'> {
    return new SluiceError('SLUICE_ERR_INFERENCE_FAILED', { modelName: this.modelName, message }, causeOf(cause));
  }
}

function readMetadata(modelName: string, session: InferenceSession): ModelMetadata {
  const specs = (values: readonly InferenceSession.ValueMetadata[], kind: 'input' | 'output'): TensorSpec[] =>
    values.map((value) => {
      if (!value.isTensor) throw signature(modelName, `${kind} '${value.name}' is not a tensor`);
      const dtype = sluiceDType(value.type);
      if (dtype === undefined) {
        throw signature(modelName, `${kind} '${value.name}' has element type ${value.type}, which Sluice tensors do not carry`);
      }
      // Symbolic dimensions (dim_param, e.g. 'batch') and unknown ones are free: -1.
      const shape = value.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
      return Object.freeze({ name: value.name, dtype, shape: Object.freeze(shape) });
    });
  return Object.freeze({
    inputs: Object.freeze(specs(session.inputMetadata, 'input')),
    outputs: Object.freeze(specs(session.outputMetadata, 'output')),
  });
}

const dtypes: ReadonlySet<string> = new Set<DType>(['float32', 'float64', 'int32', 'int64', 'uint8', 'bool', 'string']);

/** Our dtype names are onnxruntime's for the types both know; the rest have no Sluice dtype. */
function sluiceDType(ortType: string): DType | undefined {
  return dtypes.has(ortType) ? (ortType as DType) : undefined;
}

/** One member per dtype, so that checking `dtype` also narrows `data`. */
type AnyTensor = { [D in DType]: Tensor<D> }[DType];

/** Wraps the caller's typed array without copying: onnxruntime reads it in place. */
function toOrtTensor(tensor: Tensor): OrtTensor {
  const t = tensor as AnyTensor;
  switch (t.dtype) {
    case 'string':
      return new OrtTensor('string', t.data, t.shape);
    case 'bool':
      return new OrtTensor('bool', t.data, t.shape);
    case 'int64':
      return new OrtTensor('int64', t.data, t.shape);
    default:
      return new OrtTensor(t.dtype, t.data, t.shape);
  }
}

/** Sets `cause` only when there is one, so errors without a cause carry no empty field. */
function causeOf(cause: unknown): { cause: unknown } | undefined {
  return cause === undefined ? undefined : { cause };
}

function signature(modelName: string, message: string): SluiceError<'SLUICE_ERR_MODEL_SIGNATURE'> {
  return new SluiceError('SLUICE_ERR_MODEL_SIGNATURE', { modelName, message });
}
