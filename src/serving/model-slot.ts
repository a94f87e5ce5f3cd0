import { isSluiceError, messageOf, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ServingAdapter } from './adapter.js';
import type { ModelDescriptor } from './descriptor.js';
import type { ModelStateStore } from './model-state.js';
import type { ExecutorRegistry } from './registry.js';
import { NO_MODEL_ERROR, type ModelResultMetadata } from './result-metadata.js';
import type { ServingObserver } from './serving-metrics.js';
import { answer, InstalledModel, type Scored } from './strategies/installed-model.js';
import { promotedCandidate } from './strategies/promotion.js';
import { primaryOnly, type OutRouting } from './strategies/routing.js';
import type { ValidationGate } from './validation/gate.js';

export interface RejectedUpdate {
  readonly modelName: string;
  readonly modelType: string;
  readonly reason: string;
  readonly at: number;
}

export interface CandidateRole {
  /** What candidates do, for logs and `/state`: shadow, canary or speculative. */
  readonly role: string;
  /** True for the model names whose updates become candidates instead of replacing the primary. */
  readonly isCandidate: (modelName: string) => boolean;
  /** Most candidates loaded at once; a new one beyond it retires the oldest. */
  readonly max: number;
}

export interface SlotOptions<Data, Output, Result> {
  /** Checks every model that loads, primary or candidate, before it may serve. */
  readonly gate?: ValidationGate<Data, Output, Result>;
  /** Which updates are candidates; without it every update replaces the primary. */
  readonly candidates?: CandidateRole;
  /** How `out` is answered from the primary and the candidates; default: the primary answers everything. */
  readonly routing?: OutRouting<Data, Output, Result>;
}

/**
 * The models a model-serving streamlet serves, and how they change. An update builds the new
 * model completely (and passes the validation gate, when there is one) before the swap;
 * records keep being scored by the old one meanwhile. After the swap, every batch that starts
 * uses the new model; the old one is unloaded once the batches it was scoring have ended. A
 * rejected update leaves everything as it was. Updates whose name plays the candidate role
 * join the candidates instead, and a promotion makes a candidate the primary.
 */
export class ModelSlot<Data, Output, Result> {
  private primary: InstalledModel<Data, Output, Result> | undefined;
  /** Oldest first. */
  private readonly candidateModels: InstalledModel<Data, Output, Result>[] = [];
  private accepted = 0;
  private promoted = 0;
  private readonly rejected: RejectedUpdate[] = [];
  private rejectedCount = 0;
  private noModel = 0;
  private failed = 0;
  private persistFailures = 0;
  private readonly routing: OutRouting<Data, Output, Result>;

  constructor(
    private readonly adapter: ServingAdapter<Data, Output, Result>,
    private readonly executors: ExecutorRegistry,
    private readonly store: ModelStateStore,
    private readonly log: Logger,
    private readonly observer: ServingObserver,
    private readonly options: SlotOptions<Data, Output, Result> = {},
  ) {
    this.routing = options.routing ?? primaryOnly();
  }

  /** Restores the persisted models, if any; an unusable state file is moved aside and logged. */
  async restore(): Promise<void> {
    this.primary = await this.restoreFrom(this.store, 'cannot restore the persisted model; starting without a model');
    const role = this.options.candidates;
    const dropped = (name: string) =>
      !role?.isCandidate(name)
        ? 'a persisted candidate plays no candidate role under this configuration; dropping it'
        : this.candidateModels.length >= role.max
          ? 'more persisted candidates than max-candidates; dropping one'
          : undefined;
    for (const store of await this.store.candidates()) {
      const candidate = await this.restoreFrom(store, 'cannot restore a persisted candidate; starting without it', dropped);
      if (candidate) this.candidateModels.push(candidate);
    }
  }

  /** Applies a model update. Never throws: a rejected update is logged and counted. */
  async update(descriptor: ModelDescriptor): Promise<boolean> {
    let applied: Applied;
    try {
      const promoted = promotedCandidate(descriptor);
      if (promoted !== undefined) applied = await this.promote(descriptor, promoted);
      else if (this.options.candidates?.isCandidate(descriptor.modelName)) applied = await this.addCandidate(descriptor);
      else applied = await this.swap(descriptor);
    } catch (err) {
      this.reject(descriptor, err);
      return false;
    }
    this.accepted++;
    this.observer.swapped(descriptor.modelName);
    this.log.info(applied.what, { model: descriptor.modelName, type: descriptor.modelType, ...applied.fields });
    try {
      await applied.persist();
    } catch (err) {
      // A good model keeps serving even when the volume fails; only a restart would lose it.
      this.persistFailures++;
      this.log.error('cannot persist the serving model; it serves, but a restart will not restore it', {
        model: descriptor.modelName,
        file: applied.file,
        error: messageOf(err),
      });
    }
    return true;
  }

  /** Answers a batch on `out`: the primary scores it, or the routing shares it with the candidates. */
  async score(records: readonly Data[]): Promise<Scored<Output, Result>> {
    const scored = await this.routing.score(records, { primary: this.primary, candidates: [...this.candidateModels] }, (model, some) =>
      model ? model.score(some) : Promise.resolve(this.withoutModel(some)),
    );
    let withoutModel = 0;
    for (const meta of scored.metadata) {
      if (meta.errors === NO_MODEL_ERROR) withoutModel++;
      else if (meta.errors !== '') this.failed++;
    }
    if (withoutModel > 0) {
      this.noModel += withoutModel;
      this.observer.withoutModel(withoutModel);
    }
    return scored;
  }

  /** The candidates now loaded, oldest first (the shadows, under the shadow strategy). */
  candidates(): readonly InstalledModel<Data, Output, Result>[] {
    return [...this.candidateModels];
  }

  state(): object {
    const primary = this.primary;
    const role = this.options.candidates?.role;
    const lastValidation = this.options.gate?.lastReport();
    return {
      ...(primary?.stats.snapshot() ?? { name: null, description: null, modelType: null, since: null, usage: 0, duration: 0, min: 0, max: 0 }),
      source: primary?.source ?? null,
      updates: {
        accepted: this.accepted,
        rejected: this.rejectedCount,
        lastRejected: this.rejected,
        persistFailures: this.persistFailures,
        promoted: this.promoted,
      },
      recordsWithoutModel: this.noModel,
      failedRecords: this.failed,
      ...(role ? { candidates: this.candidateModels.map((c) => ({ role, ...c.stats.snapshot(), source: c.source })) } : {}),
      ...(this.options.gate ? { validation: { last: lastValidation ?? null } } : {}),
    };
  }

  get modelName(): string | undefined {
    return this.primary?.name;
  }

  /** Unloads every model once its in-flight batches end. */
  async close(): Promise<void> {
    const models = [this.primary, ...this.candidateModels.splice(0)];
    this.primary = undefined;
    await Promise.all(models.map((m) => m?.retire()));
  }

  /** The model persisted in `store`, loaded; one `dropped` gives a reason for is deleted with its file, an unreadable one moved aside. */
  private async restoreFrom(
    store: ModelStateStore,
    failure: string,
    dropped: (modelName: string) => string | undefined = () => undefined,
  ): Promise<InstalledModel<Data, Output, Result> | undefined> {
    try {
      const descriptor = await store.load();
      if (!descriptor) return undefined;
      const reason = dropped(descriptor.modelName);
      if (reason !== undefined) {
        this.log.warn(reason, { model: descriptor.modelName, file: store.file });
        await store.remove();
        return undefined;
      }
      // Restored models passed the gate when they were installed: they serve before any record is read.
      const model = await this.load(descriptor, { validate: false });
      this.log.info('restored the persisted model', { model: descriptor.modelName, file: store.file });
      return model;
    } catch (err) {
      const aside = await store.quarantine().catch(() => undefined);
      this.log.error(failure, { file: store.file, keptAs: aside, error: messageOf(err) });
      return undefined;
    }
  }

  private async swap(descriptor: ModelDescriptor): Promise<Applied> {
    const model = await this.load(descriptor, { validate: true });
    const previous = this.primary;
    this.primary = model;
    await previous?.retire();
    return { what: 'model swapped', file: this.store.file, persist: () => this.store.save(descriptor) };
  }

  private async addCandidate(descriptor: ModelDescriptor): Promise<Applied> {
    const model = await this.load(descriptor, { validate: true });
    const max = this.options.candidates?.max ?? 1;
    const replaced = this.candidateModels.findIndex((c) => c.name === model.name);
    const retired = replaced >= 0 ? this.candidateModels.splice(replaced, 1) : [];
    retired.push(...this.candidateModels.splice(0, Math.max(0, this.candidateModels.length + 1 - max)));
    this.candidateModels.push(model);
    for (const old of retired) {
      if (old.name !== model.name) this.log.info('candidate retired to make room for a new one', { model: old.name, for: model.name, maxCandidates: max });
      await old.retire();
    }
    const store = this.store.candidate(model.name);
    return {
      what: 'candidate installed',
      fields: { role: this.options.candidates?.role },
      file: store.file,
      persist: async () => {
        for (const old of retired) if (old.name !== model.name) await this.store.candidate(old.name).remove();
        await store.save(descriptor);
      },
    };
  }

  private async promote(descriptor: ModelDescriptor, name: string): Promise<Applied> {
    if (descriptor.modelName !== name) {
      throw new SluiceError('SLUICE_ERR_MODEL_INVALID', {
        modelName: descriptor.modelName,
        message: `a promotion of candidate ${name} (modelSourceLocation candidate:${name}) must carry modelName ${name}`,
      });
    }
    const index = this.candidateModels.findIndex((c) => c.name === name);
    const candidate = this.candidateModels[index];
    if (!candidate) {
      throw new SluiceError('SLUICE_ERR_CANDIDATE_NOT_FOUND', { modelName: name, candidates: this.candidateModels.map((c) => c.name).join(', ') || 'none' });
    }
    this.candidateModels.splice(index, 1);
    const previous = this.primary;
    this.primary = candidate;
    this.promoted++;
    await previous?.retire();
    return {
      what: 'candidate promoted to primary',
      fields: { previous: previous?.name ?? null },
      file: this.store.file,
      persist: async () => {
        await this.store.save(candidate.descriptor);
        await this.store.candidate(name).remove();
      },
    };
  }

  /** A model ready to serve: loaded, fitting the adapter, and through the gate when `validate`; unloaded again if any step fails. */
  private async load(descriptor: ModelDescriptor, { validate }: { validate: boolean }): Promise<InstalledModel<Data, Output, Result>> {
    checkDescriptor(descriptor);
    const model = await this.executors.load(descriptor);
    try {
      const problems = this.adapter.check(model.metadata());
      if (problems.length > 0) throw new SluiceError('SLUICE_ERR_MODEL_SIGNATURE', { modelName: descriptor.modelName, message: problems.join('; ') });
      if (validate && this.options.gate) {
        const report = await this.options.gate.check(descriptor, model);
        this.log.info('model passed validation', { model: descriptor.modelName, set: report.set, records: report.records, ...report.measures });
      }
    } catch (err) {
      await model.unload().catch(() => undefined);
      throw err;
    }
    return new InstalledModel(descriptor, model, this.adapter, this.observer, this.log);
  }

  private reject(descriptor: ModelDescriptor, err: unknown): void {
    const reason = messageOf(err);
    this.rejectedCount++;
    this.observer.rejected(isSluiceError(err) ? err.code : 'SLUICE_ERR_MODEL_INVALID');
    this.rejected.unshift({ modelName: descriptor.modelName, modelType: descriptor.modelType, reason, at: Date.now() });
    this.rejected.length = Math.min(this.rejected.length, 10);
    this.log.error('model update rejected; the current model keeps serving', {
      model: descriptor.modelName,
      type: descriptor.modelType,
      error: reason,
      serving: this.primary?.name ?? null,
    });
  }

  private withoutModel(records: readonly Data[]): Scored<Output, Result> {
    const metadata: ModelResultMetadata = { errors: NO_MODEL_ERROR, modelName: '', source: '', startTime: 0, duration: 0 };
    return answer(this.adapter, records, [], metadata);
  }
}

/** What an accepted update did: what to log, and how to persist it. */
interface Applied {
  readonly what: string;
  readonly fields?: Readonly<Record<string, unknown>>;
  /** The state file `persist` writes, for its error message. */
  readonly file: string;
  readonly persist: () => Promise<void>;
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
