/**
 * The runtime contract: what carries records between streamlets. A runtime knows topics,
 * consumer groups and bytes; it never sees streamlet classes or schemas. Decoding, dead
 * letters and the streamlet context are the host's job, the same on every runtime.
 */

/** One consumer group reading one topic: the replicas of one streamlet inlet. */
export interface InletBinding {
  readonly topic: string;
  readonly streamlet: string;
  readonly inlet: string;
}

export interface OutletBinding {
  readonly topics: readonly string[];
  readonly streamlet: string;
  readonly outlet: string;
}

export interface RawRecord {
  /** The record's Avro encoding. For a record produced in this process it is encoded on first use. */
  readonly payload: Buffer;
  /**
   * The value itself, when the record was produced in this process: a consumer that reads with
   * the producer's own schema takes it as it is, with no encode or decode between them.
   */
  readonly value?: unknown;
  readonly key?: string;
  /**
   * The record's identity. A source sets it on what it delivers, the same on every redelivery
   * (JetStream: `<stream>:<sequence>`); the host sets it on an output derived from an input (see
   * `EmitOptions.origins`), and a runtime that deduplicates publishes stores each id once.
   */
  readonly id?: string;
}

export interface PullOptions {
  readonly maxSize: number;
  /** Once one record is there, wait at most this long (ms) for the batch to fill. */
  readonly maxWait: number;
  readonly signal?: AbortSignal;
}

/**
 * Records are delivered in batches. A batch stays pending until `commit()`; if the consumer
 * goes away before that, the runtime delivers it again (at-least-once).
 */
export interface SourceBatch {
  readonly records: readonly RawRecord[];
  commit(): Promise<void>;
}

export interface RuntimeSource {
  /** The next batch; `null` once the topic has ended and everything was delivered. */
  pull(options: PullOptions): Promise<SourceBatch | null>;
  /** Stops reading; uncommitted batches go back to the topic. */
  close(): Promise<void>;
}

export interface RuntimeSink {
  /**
   * Resolves when every record is accepted by every topic of the outlet: the backpressure.
   * Rejects with the signal's reason if `signal` aborts while waiting.
   */
  write(records: readonly RawRecord[], signal?: AbortSignal): Promise<void>;
  /** The producer is done; a topic ends when all its producers are. */
  close(): Promise<void>;
}

export interface Runtime {
  readonly name: string;
  /** Records waiting per topic (not yet committed by the slowest consumer), for metrics. */
  backlog(): Readonly<Record<string, number>>;
  source(binding: InletBinding): RuntimeSource;
  sink(binding: OutletBinding): RuntimeSink;
  close(): Promise<void>;
}
