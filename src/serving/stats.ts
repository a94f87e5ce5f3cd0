import type { ModelDescriptor } from './descriptor.js';

/** ModelToServeStats of the reference, with sub-millisecond durations (ms as doubles). */
export interface ModelToServeStats {
  readonly name: string;
  readonly description: string;
  readonly modelType: string;
  /** When this model was installed (ms since the epoch). */
  readonly since: number;
  /** Records scored by this model. */
  readonly usage: number;
  /** Total time in model calls (ms). */
  readonly duration: number;
  /** Shortest and longest model call (ms); a call scores one batch. */
  readonly min: number;
  readonly max: number;
}

/** Statistics of the serving model; they restart at every swap. */
export class ServingStats {
  private usage = 0;
  private calls = 0;
  private duration = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  constructor(
    private readonly descriptor: ModelDescriptor,
    readonly since: number,
  ) {}

  record(records: number, durationMs: number): void {
    this.usage += records;
    this.calls++;
    this.duration += durationMs;
    if (durationMs < this.min) this.min = durationMs;
    if (durationMs > this.max) this.max = durationMs;
  }

  snapshot(): ModelToServeStats & { readonly calls: number; readonly averageDuration: number; readonly averageBatchSize: number } {
    const { modelName, description, modelType } = this.descriptor;
    return {
      name: modelName,
      description,
      modelType,
      since: this.since,
      usage: this.usage,
      duration: round(this.duration),
      min: this.calls === 0 ? 0 : round(this.min),
      max: round(this.max),
      calls: this.calls,
      averageDuration: this.calls === 0 ? 0 : round(this.duration / this.calls),
      averageBatchSize: this.calls === 0 ? 0 : round(this.usage / this.calls),
    };
  }
}

/** Microsecond precision is what the numbers can carry honestly. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
