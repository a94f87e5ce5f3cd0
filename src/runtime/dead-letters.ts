import { DeadLetter as DeadLetterSchema } from '../blueprint/dead-letter.js';
import type { Logger } from '../core/log.js';
import type { RuntimeSink } from './runtime.js';

export interface DeadLetter {
  readonly topic: string;
  readonly streamlet: string;
  readonly inlet: string;
  readonly reason: string;
  readonly payload: Buffer;
}

/**
 * Where records go that cannot be decoded or validated: logged, counted, and written to the
 * `dead-letters` topic when the blueprint consumes it. The stream goes on either way.
 */
export class DeadLetters {
  private count = 0;

  constructor(
    private readonly sink: RuntimeSink | undefined,
    private readonly log: Logger,
  ) {}

  get total(): number {
    return this.count;
  }

  async write(letter: DeadLetter, signal?: AbortSignal): Promise<void> {
    this.count++;
    this.log.warn('record dead-lettered', {
      streamlet: letter.streamlet,
      inlet: letter.inlet,
      topic: letter.topic,
      reason: letter.reason,
      bytes: letter.payload.length,
    });
    if (!this.sink) return;
    const payload = DeadLetterSchema.encode({ ...letter, timestamp: Date.now() }, 'dead-letters');
    await this.sink.write([{ payload, key: letter.topic }], signal);
  }

  async close(): Promise<void> {
    await this.sink?.close();
  }
}
