import type { Schema } from '../core/schema.js';
import type { RawRecord } from './runtime.js';

/**
 * A record emitted in this process. It carries its (validated) value, so an in-process consumer
 * reading the same schema takes it without an encode/decode round trip; the Avro bytes and the
 * partition key are computed only if a runtime, a dead letter or another schema needs them.
 * Values are shared, not copied: streamlets must not mutate records they read or emitted.
 */
export class ProducedRecord implements RawRecord {
  #payload: Buffer | undefined;

  constructor(
    readonly value: unknown,
    private readonly schema: Schema<unknown>,
    private readonly keyOf: ((value: never) => string) | undefined,
  ) {}

  get payload(): Buffer {
    this.#payload ??= this.schema.type.toBuffer(this.value);
    return this.#payload;
  }

  get key(): string | undefined {
    return this.keyOf?.(this.value as never);
  }
}
