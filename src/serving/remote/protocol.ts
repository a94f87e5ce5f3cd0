/**
 * What a model-server protocol gives the remote executor, over one transport to one endpoint:
 * the model's signature and inference. Balancing, retries, circuits and batching live above
 * it, the same for every protocol; a protocol only translates tensors at the edge.
 */
import type { ModelMetadata } from '../executor.js';
import type { NamedTensors } from '../tensor.js';

export interface CallSettings {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface RemoteProtocol<Connection> {
  /** `http://127.0.0.1:8000`: how messages and logs name an endpoint. */
  url(address: string): string;
  connect(address: string): Connection;
  close(connection: Connection): Promise<void>;
  /**
   * The model's signature as the server reports it; rejects with a RemoteFailure ('request'
   * when the server answered, e.g. that it does not know the model). Absent when the protocol
   * cannot report one: the location then declares it.
   */
  readonly metadata?: (connection: Connection, call: CallSettings) => Promise<ModelMetadata>;
  /** Scores a batch; `inputs` holds exactly the signature's inputs, already checked against it. */
  infer(connection: Connection, inputs: NamedTensors, signature: ModelMetadata, call: CallSettings): Promise<NamedTensors>;
}
