/**
 * One loaded model as a model-serving streamlet uses it, whatever its role (the primary, or a
 * shadow, canary or speculative candidate): it scores batches through the adapter, keeps its
 * statistics, and is unloaded only once the calls it is running have ended.
 */
import { performance } from 'node:perf_hooks';
import { messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ServingAdapter } from '../adapter.js';
import type { ModelDescriptor } from '../descriptor.js';
import type { LoadedModel } from '../executor.js';
import type { ModelResultMetadata } from '../result-metadata.js';
import type { ServingObserver } from '../serving-metrics.js';
import { ServingStats } from '../stats.js';

/** A batch's results, in input order, the metadata each was scored with, and the model's output behind each (undefined where none). */
export interface Scored<Output, Result> {
  readonly results: Result[];
  readonly metadata: ModelResultMetadata[];
  readonly outputs: (Output | undefined)[];
}

export class InstalledModel<Data, Output, Result> {
  readonly stats: ServingStats;
  /** The scoring path results name: the model type, and where the model lives. */
  readonly source: string;
  private running = 0;
  private retired = false;
  private unloaded: Promise<void> | undefined;

  constructor(
    readonly descriptor: ModelDescriptor,
    private readonly model: LoadedModel,
    private readonly adapter: ServingAdapter<Data, Output, Result>,
    private readonly observer: ServingObserver,
    private readonly log: Logger,
    installedAt = Date.now(),
  ) {
    this.stats = new ServingStats(descriptor, installedAt);
    this.source = descriptor.modelSourceLocation ? `${descriptor.modelType} ${descriptor.modelSourceLocation}` : `${descriptor.modelType} embedded`;
  }

  get name(): string {
    return this.descriptor.modelName;
  }

  /** Calls this model is running now (a slow model's pile-up shows here). */
  get inFlight(): number {
    return this.running;
  }

  /**
   * Scores a batch: records the adapter rejects get their reason, the others go to the model
   * together; if that call fails, they are scored one by one so only bad records get an error
   * result. Never throws.
   */
  async score(records: readonly Data[]): Promise<Scored<Output, Result>> {
    this.running++;
    try {
      return await this.scoreAccepted(records);
    } finally {
      this.running--;
      if (this.retired && this.running === 0) await this.unload();
    }
  }

  /** No new calls after this; unloads once the running ones end. */
  async retire(): Promise<void> {
    if (this.retired) return;
    this.retired = true;
    if (this.running === 0) await this.unload();
  }

  metadata(errors: string, durationMs: number): ModelResultMetadata {
    return { errors, modelName: this.name, source: this.source, startTime: this.stats.since, duration: Math.round(durationMs * 1000) / 1000 };
  }

  private async scoreAccepted(records: readonly Data[]): Promise<Scored<Output, Result>> {
    const reject = this.adapter.reject;
    const reasons = reject ? records.map((record) => reject.call(this.adapter, record)) : [];
    if (!reasons.some((reason) => reason !== undefined)) return this.scoreWith(records);
    const scored = await this.scoreWith(records.filter((_, i) => reasons[i] === undefined));
    const merged: Scored<Output, Result> = { results: [], metadata: [], outputs: [] };
    let next = 0;
    records.forEach((record, i) => {
      const reason = reasons[i];
      if (reason === undefined) {
        merged.results.push(scored.results[next] as Result);
        merged.metadata.push(scored.metadata[next] as ModelResultMetadata);
        merged.outputs.push(scored.outputs[next++]);
        return;
      }
      const meta = this.metadata(reason, 0);
      merged.results.push(this.adapter.result(record, undefined, meta));
      merged.metadata.push(meta);
      merged.outputs.push(undefined);
    });
    this.observer.failed(this.name, records.length - next);
    return merged;
  }

  private async scoreWith(records: readonly Data[]): Promise<Scored<Output, Result>> {
    if (records.length === 0) return { results: [], metadata: [], outputs: [] };
    const started = performance.now();
    try {
      const outputs = this.adapter.fromOutputs(records, await this.model.infer(this.adapter.toInputs(records)));
      const duration = performance.now() - started;
      this.stats.record(records.length, duration);
      this.observer.called(this.name, records.length, duration / 1000);
      return answer(this.adapter, records, outputs, this.metadata('', duration));
    } catch (err) {
      if (records.length > 1) {
        const scored: Scored<Output, Result> = { results: [], metadata: [], outputs: [] };
        for (const record of records) {
          const one = await this.scoreWith([record]);
          scored.results.push(...one.results);
          scored.metadata.push(...one.metadata);
          scored.outputs.push(...one.outputs);
        }
        return scored;
      }
      this.observer.failed(this.name, records.length);
      return answer(this.adapter, records, [], this.metadata(messageOf(err), performance.now() - started));
    }
  }

  private unload(): Promise<void> {
    this.unloaded ??= this.model
      .unload()
      .catch((err: unknown) => this.log.warn('unloading a retired model failed', { model: this.name, error: messageOf(err) }));
    return this.unloaded;
  }
}

/** Results for records that share one metadata; a missing output means scoring failed (`metadata.errors` says why). */
export function answer<Data, Output, Result>(
  adapter: ServingAdapter<Data, Output, Result>,
  records: readonly Data[],
  outputs: readonly Output[],
  metadata: ModelResultMetadata,
): Scored<Output, Result> {
  return {
    results: records.map((record, i) => adapter.result(record, outputs[i], metadata)),
    metadata: new Array<ModelResultMetadata>(records.length).fill(metadata),
    outputs: records.map((_, i) => outputs[i]),
  };
}
