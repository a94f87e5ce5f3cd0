import { performance } from 'node:perf_hooks';
import { isSluiceError, messageOf, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ServingAdapter } from './adapter.js';
import type { ModelDescriptor } from './descriptor.js';
import type { LoadedModel } from './executor.js';
import type { ModelStateStore } from './model-state.js';
import type { ExecutorRegistry } from './registry.js';
import { NO_MODEL_ERROR, type ModelResultMetadata } from './result-metadata.js';
import type { ServingObserver } from './serving-metrics.js';
import { ServingStats } from './stats.js';

interface Installed {
  readonly descriptor: ModelDescriptor;
  readonly model: LoadedModel;
  readonly stats: ServingStats;
  readonly source: string;
  inFlight: number;
  retired: boolean;
}

/** A batch's results, in input order, and the metadata each one was scored with. */
export interface Scored<Result> {
  readonly results: Result[];
  readonly metadata: ModelResultMetadata[];
}

export interface RejectedUpdate {
  readonly modelName: string;
  readonly modelType: string;
  readonly reason: string;
  readonly at: number;
}

/**
 * The model a model-serving streamlet serves, and how it changes. An update builds the new
 * model completely before the swap; records keep being scored by the old one meanwhile. After
 * the swap, every batch that starts uses the new model; the old one is unloaded once the
 * batches it was scoring have ended. A rejected update leaves everything as it was.
 */
export class ModelSlot<Record, Output, Result> {
  private current: Installed | undefined;
  private accepted = 0;
  private readonly rejected: RejectedUpdate[] = [];
  private rejectedCount = 0;
  private noModel = 0;
  private failed = 0;
  private persistFailures = 0;

  constructor(
    private readonly adapter: ServingAdapter<Record, Output, Result>,
    private readonly executors: ExecutorRegistry,
    private readonly store: ModelStateStore,
    private readonly log: Logger,
    private readonly observer: ServingObserver,
  ) {}

  /** Restores the persisted model, if any; an unusable state file is moved aside and logged. */
  async restore(): Promise<void> {
    let descriptor: ModelDescriptor | undefined;
    try {
      descriptor = await this.store.load();
      if (!descriptor) return;
      await this.swap(descriptor);
      this.log.info('restored the persisted model', { model: descriptor.modelName, file: this.store.file });
    } catch (err) {
      const aside = await this.store.quarantine().catch(() => undefined);
      this.log.error('cannot restore the persisted model; starting without a model', { file: this.store.file, keptAs: aside, error: messageOf(err) });
    }
  }

  /** Applies a model update. Never throws: a rejected update is logged and counted. */
  async update(descriptor: ModelDescriptor): Promise<boolean> {
    try {
      await this.swap(descriptor);
    } catch (err) {
      const reason = messageOf(err);
      this.rejectedCount++;
      this.observer.rejected(isSluiceError(err) ? err.code : 'SLUICE_ERR_MODEL_INVALID');
      this.rejected.unshift({ modelName: descriptor.modelName, modelType: descriptor.modelType, reason, at: Date.now() });
      this.rejected.length = Math.min(this.rejected.length, 10);
      this.log.error('model update rejected; the current model keeps serving', {
        model: descriptor.modelName,
        type: descriptor.modelType,
        error: reason,
        serving: this.current?.descriptor.modelName ?? null,
      });
      return false;
    }
    this.accepted++;
    this.observer.swapped(descriptor.modelName);
    this.log.info('model swapped', { model: descriptor.modelName, type: descriptor.modelType });
    try {
      await this.store.save(descriptor);
    } catch (err) {
      // A good model keeps serving even when the volume fails; only a restart would lose it.
      this.persistFailures++;
      this.log.error('cannot persist the serving model; it serves, but a restart will not restore it', {
        model: descriptor.modelName,
        file: this.store.file,
        error: messageOf(err),
      });
    }
    return true;
  }

  /** Scores a batch in one model call; a batch that fails is retried record by record so only bad records get error results. */
  async score(records: readonly Record[]): Promise<Scored<Result>> {
    const installed = this.current;
    if (!installed) {
      this.noModel += records.length;
      this.observer.withoutModel(records.length);
      const metadata: ModelResultMetadata = { errors: NO_MODEL_ERROR, modelName: '', source: '', startTime: 0, duration: 0 };
      return this.answer(records, [], metadata);
    }
    installed.inFlight++;
    try {
      return await this.scoreAccepted(installed, records);
    } finally {
      installed.inFlight--;
      if (installed.retired && installed.inFlight === 0) await this.unload(installed);
    }
  }

  state(): object {
    return {
      ...(this.current?.stats.snapshot() ?? { name: null, description: null, modelType: null, since: null, usage: 0, duration: 0, min: 0, max: 0 }),
      source: this.current?.source ?? null,
      updates: { accepted: this.accepted, rejected: this.rejectedCount, lastRejected: this.rejected, persistFailures: this.persistFailures },
      recordsWithoutModel: this.noModel,
      failedRecords: this.failed,
    };
  }

  get modelName(): string | undefined {
    return this.current?.descriptor.modelName;
  }

  /** Unloads the serving model once its in-flight batches end. */
  async close(): Promise<void> {
    const installed = this.current;
    this.current = undefined;
    if (installed) await this.retire(installed);
  }

  private async swap(descriptor: ModelDescriptor): Promise<void> {
    checkDescriptor(descriptor);
    const model = await this.executors.load(descriptor);
    const problems = this.adapter.check(model.metadata());
    if (problems.length > 0) {
      await model.unload().catch(() => undefined);
      throw new SluiceError('SLUICE_ERR_MODEL_SIGNATURE', { modelName: descriptor.modelName, message: problems.join('; ') });
    }
    const previous = this.current;
    const source = descriptor.modelSourceLocation ? `${descriptor.modelType} ${descriptor.modelSourceLocation}` : `${descriptor.modelType} embedded`;
    this.current = { descriptor, model, stats: new ServingStats(descriptor, Date.now()), source, inFlight: 0, retired: false };
    if (previous) await this.retire(previous);
  }

  /** Answers the records the adapter rejects with their reason, and scores the others together. */
  private async scoreAccepted(installed: Installed, records: readonly Record[]): Promise<Scored<Result>> {
    const reject = this.adapter.reject;
    const reasons = reject ? records.map((record) => reject.call(this.adapter, record)) : [];
    if (!reasons.some((reason) => reason !== undefined)) return this.scoreWith(installed, records);
    const scored = await this.scoreWith(
      installed,
      records.filter((_, i) => reasons[i] === undefined),
    );
    const results: Result[] = [];
    const metadata: ModelResultMetadata[] = [];
    let next = 0;
    records.forEach((record, i) => {
      const reason = reasons[i];
      if (reason === undefined) {
        results.push(scored.results[next] as Result);
        metadata.push(scored.metadata[next++] as ModelResultMetadata);
        return;
      }
      const meta = this.metadata(installed, reason, 0);
      results.push(this.adapter.result(record, undefined, meta));
      metadata.push(meta);
    });
    const rejected = records.length - next;
    this.failed += rejected;
    this.observer.failed(installed.descriptor.modelName, rejected);
    return { results, metadata };
  }

  private async scoreWith(installed: Installed, records: readonly Record[]): Promise<Scored<Result>> {
    if (records.length === 0) return { results: [], metadata: [] };
    const started = performance.now();
    try {
      const outputs = this.adapter.fromOutputs(records, await installed.model.infer(this.adapter.toInputs(records)));
      const duration = performance.now() - started;
      installed.stats.record(records.length, duration);
      this.observer.called(installed.descriptor.modelName, records.length, duration / 1000);
      return this.answer(records, outputs, this.metadata(installed, '', duration));
    } catch (err) {
      if (records.length > 1) {
        const scored: Scored<Result> = { results: [], metadata: [] };
        for (const record of records) {
          const one = await this.scoreWith(installed, [record]);
          scored.results.push(...one.results);
          scored.metadata.push(...one.metadata);
        }
        return scored;
      }
      this.failed += records.length;
      this.observer.failed(installed.descriptor.modelName, records.length);
      return this.answer(records, [], this.metadata(installed, messageOf(err), performance.now() - started));
    }
  }

  /** Results for a batch that shares one metadata; a missing output means scoring failed. */
  private answer(records: readonly Record[], outputs: readonly Output[], metadata: ModelResultMetadata): Scored<Result> {
    return {
      results: records.map((record, i) => this.adapter.result(record, outputs[i], metadata)),
      metadata: new Array<ModelResultMetadata>(records.length).fill(metadata),
    };
  }

  private metadata(installed: Installed, errors: string, durationMs: number): ModelResultMetadata {
    return {
      errors,
      modelName: installed.descriptor.modelName,
      source: installed.source,
      startTime: installed.stats.since,
      duration: Math.round(durationMs * 1000) / 1000,
    };
  }

  private async retire(installed: Installed): Promise<void> {
    installed.retired = true;
    if (installed.inFlight === 0) await this.unload(installed);
  }

  private async unload(installed: Installed): Promise<void> {
    await installed.model
      .unload()
      .catch((err: unknown) => this.log.warn('unloading a retired model failed', { model: installed.descriptor.modelName, error: messageOf(err) }));
  }
}

function checkDescriptor(descriptor: ModelDescriptor): void {
  const name = descriptor.modelName.trim();
  const hasBytes = descriptor.modelBytes !== null && descriptor.modelBytes.length > 0;
  const hasLocation = descriptor.modelSourceLocation !== null && descriptor.modelSourceLocation.trim() !== '';
  if (name === '' || (!hasBytes && !hasLocation)) {
    const missing = [name === '' ? 'modelName' : '', !hasBytes && !hasLocation ? 'modelBytes or modelSourceLocation' : ''].filter(Boolean).join(' and ');
    throw new SluiceError('SLUICE_ERR_MODEL_INVALID', { modelName: name || '(unnamed)', message: `the descriptor is empty: it has no ${missing}` });
  }
}
