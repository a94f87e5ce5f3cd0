/**
 * The model repository: a directory with one folder per model and numbered version folders in
 * each, each version folder holding one model file or an inference graph (see ./servable.ts):
 *
 *   models/recommender/1/model.onnx
 *   models/recommender/2/model.onnx
 *   models/fraud/3/model.tfjs
 *   models/recommender-ab/1/graph.conf
 *
 * The newest `versionsServed` loadable versions of each model are served. The directory is
 * polled: a new version folder is loaded once its files look the same on two polls in a row
 * (so a model still being copied is not loaded half-written), and then replaces the oldest
 * served version. A version that cannot be loaded is reported (log, status, metrics) and the
 * versions already serving go on; it is tried again when its files change (a graph also when
 * the models it calls change). Graphs load after the models they call. A retired version is
 * unloaded only after the requests it is serving end.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { messageOf, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ModelMetadata } from '../serving/executor.js';
import type { ExecutorRegistry } from '../serving/registry.js';
import { inputFor } from '../serving/signature.js';
import { rowsOf } from '../serving/tensor-rows.js';
import type { NamedTensors, TensorSpec } from '../serving/tensor.js';
import { pause } from '../util/backoff.js';
import { Batcher, type BatchingOptions } from './batcher.js';
import { servableIn, type ModelCatalog, type RouteObserver, type Servable, type ServableContext, type ServeOptions } from './servable.js';

/** A model name the protocols can carry in a URL path (TF Serving puts `:predict` right after it). */
const modelNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type VersionState = 'loading' | 'available' | 'failed' | 'unloading' | 'unloaded';

export interface VersionReport {
  readonly model: string;
  readonly version: number;
  readonly state: VersionState;
  /** Why a version failed; empty otherwise. */
  readonly reason: string;
}

export interface RepositoryObserver extends RouteObserver {
  /** One model call of a version's batcher. */
  called(model: string, version: number, rows: number, requests: number): void;
  loaded(model: string, version: number, ok: boolean): void;
}

export interface RepositoryOptions {
  readonly root: string;
  readonly executors: ExecutorRegistry;
  /** How many of the newest loadable versions of each model are served at once. */
  readonly versionsServed: number;
  readonly pollIntervalMs: number;
  readonly batching: BatchingOptions;
  readonly log: Logger;
  readonly observer: RepositoryObserver;
}

/** One version of one model and its life: loading, then available or failed; unloading and unloaded once retired. */
export class ServedVersion {
  state: VersionState = 'loading';
  reason = '';
  servable: Servable | undefined;
  signature: ModelMetadata | undefined;
  /** Requests can be joined into one model call: every input and output has a free first (row) dimension. */
  batchable = false;
  /** Absent for a servable that batches inside (a graph): requests go to it directly. */
  batcher: Batcher | undefined;
  private inFlight = 0;
  private unloaded: Promise<void> | undefined;

  constructor(
    readonly model: string,
    readonly version: number,
    /** The version folder's files when this load was attempted. */
    readonly fingerprint: string,
    /** What the repository served when this load was attempted: a graph that failed is tried again once that changes. */
    readonly servingWhenLoaded: string,
    private readonly log: Logger,
  ) {}

  /**
   * Scores `inputs`, checked against the signature first (a missing, unknown, wrongly typed or
   * shaped tensor is a 400 error naming it): batched with concurrent requests, or straight
   * through for a servable that batches inside. Every output, by name.
   */
  async infer(inputs: NamedTensors, options: ServeOptions = {}): Promise<NamedTensors> {
    this.check(inputs);
    const servable = this.servable;
    if (!servable || !this.acquire()) {
      throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', {
        modelName: this.model,
        message: `version ${this.version} was retired while the request was read; retry`,
      });
    }
    try {
      return await (this.batcher ? this.batcher.submit(inputs) : servable.infer(inputs, options));
    } finally {
      this.release();
    }
  }

  /** A 400 error about this version. */
  invalid(message: string): SluiceError<'SLUICE_ERR_INVALID_ARGUMENT'> {
    return new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `model ${this.model} version ${this.version}: ${message}` });
  }

  /** What the version expects of an input, or a 400 error naming the inputs it does take. */
  expectInput(name: string): TensorSpec {
    const specs = this.signature?.inputs ?? [];
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw this.invalid(`it has no input '${name}' (inputs: ${specs.map((s) => `'${s.name}'`).join(', ')})`);
    return spec;
  }

  private check(inputs: NamedTensors): void {
    const signature = this.signature ?? { inputs: [], outputs: [] };
    for (const name of Object.keys(inputs)) this.expectInput(name);
    for (const spec of signature.inputs) {
      const given = inputFor(signature, spec, inputs);
      if (typeof given === 'string') throw this.invalid(given);
    }
    if (!this.batchable) return;
    const rows = Object.entries(inputs).map(([name, tensor]) => ({ name, rows: rowsOf(tensor) }));
    const differing = rows.find((r) => r.rows !== rows[0]?.rows);
    if (differing && rows[0]) {
      throw this.invalid(`inputs must have the same number of rows: '${rows[0].name}' has ${rows[0].rows}, '${differing.name}' has ${differing.rows}`);
    }
  }

  /** Counts a request in; false when the version no longer takes requests. */
  acquire(): boolean {
    if (this.state !== 'available') return false;
    this.inFlight++;
    return true;
  }

  release(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.state === 'unloading') void this.unload();
  }

  /** Takes no new requests; unloads once the ones it has end. */
  retire(): Promise<void> {
    if (this.state === 'available') {
      this.state = 'unloading';
      // No request will join the queued ones: score them now rather than after the batch delay.
      void this.batcher?.drain();
    }
    if (this.state !== 'unloading' || this.inFlight > 0) return this.unloaded ?? Promise.resolve();
    return this.unload();
  }

  report(): VersionReport {
    return { model: this.model, version: this.version, state: this.state, reason: this.reason };
  }

  private unload(): Promise<void> {
    this.unloaded ??= (async () => {
      await this.batcher?.drain();
      await this.servable
        ?.unload()
        .catch((err: unknown) => this.log.warn('unloading a model version failed', { model: this.model, version: this.version, error: messageOf(err) }));
      this.servable = undefined;
      this.batcher = undefined;
      this.state = 'unloaded';
      this.log.info('model version unloaded', { model: this.model, version: this.version });
    })();
    return this.unloaded;
  }
}

interface VersionOnDisk {
  readonly folder: string;
  readonly files: readonly string[];
  readonly fingerprint: string;
}

interface ModelEntry {
  readonly name: string;
  readonly versions: Map<number, ServedVersion>;
  /** Fingerprints seen on the previous poll, to load a version only once its files stopped changing. */
  seen: ReadonlyMap<number, string>;
}

export class ModelRepository {
  private readonly entries = new Map<string, ModelEntry>();
  private readonly stopping = new AbortController();
  private polling: Promise<void> = Promise.resolve();
  private lastScanProblem = '';
  private scanned = false;

  /** The repository's models as a graph calls them: the newest served version of each. */
  readonly catalog: ModelCatalog = {
    describe: (model) => {
      const newest = this.newest(model);
      return { signature: newest.signature ?? { inputs: [], outputs: [] }, platform: newest.servable?.platform ?? '' };
    },
    infer: (model, inputs) => this.newest(model).infer(inputs),
    names: () => this.models(),
  };

  private constructor(private readonly options: RepositoryOptions) {}

  /** Scans the repository, loads what it serves, and starts watching it. */
  static async open(options: RepositoryOptions): Promise<ModelRepository> {
    const repository = new ModelRepository(options);
    await repository.scan(true);
    repository.scanned = true;
    repository.polling = repository.poll();
    return repository;
  }

  /** Model names, sorted. */
  models(): string[] {
    return [...this.entries.keys()].sort();
  }

  has(model: string): boolean {
    return this.entries.has(model);
  }

  /** The versions of `model` taking requests, newest first. */
  served(model: string): ServedVersion[] {
    const entry = this.entries.get(model);
    if (!entry) return [];
    return [...entry.versions.values()].filter((v) => v.state === 'available').sort((a, b) => b.version - a.version);
  }

  version(model: string, version: number): ServedVersion | undefined {
    return this.entries.get(model)?.versions.get(version);
  }

  /** The newest version of `model` taking requests; a 404 error when there is no such model, a 503 naming why when none serves. */
  newest(model: string): ServedVersion {
    if (!this.entries.has(model)) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', { modelName: model });
    const [newest] = this.served(model);
    if (!newest) throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', { modelName: model, message: this.whyNotServing(model) });
    return newest;
  }

  private whyNotServing(model: string): string {
    const reports = this.reports(model);
    if (reports.length === 0) return 'its folder has no version folders (numbered subfolders holding a model file)';
    if (reports.some((r) => r.state === 'loading')) return 'its versions are still loading';
    const failed = reports.filter((r) => r.state === 'failed');
    if (failed.length > 0) return failed.map((r) => `version ${r.version} failed to load (${r.reason})`).join('; ');
    return 'no version is serving yet';
  }

  /** Which versions serve, as one string: it changes when a version starts or stops serving. */
  private servingKey(): string {
    return [...this.entries.values()].map((entry) => `${entry.name}:${this.served(entry.name).map((v) => v.version)}`).join('|');
  }

  /** Every version the repository knows of `model` (or of every model), newest first. */
  reports(model?: string): VersionReport[] {
    const entries = model === undefined ? [...this.entries.values()] : [this.entries.get(model)].filter((e) => e !== undefined);
    return entries
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((entry) => [...entry.versions.values()].sort((a, b) => b.version - a.version).map((v) => v.report()));
  }

  /** Ready: the first scan is done and every model has a version taking requests. */
  ready(): boolean {
    return this.scanned && [...this.entries.keys()].every((name) => this.served(name).length > 0);
  }

  /** Queued requests per served version, for metrics. */
  queueDepths(): { model: string; version: number; depth: number }[] {
    return [...this.entries.values()].flatMap((entry) =>
      [...entry.versions.values()].filter((v) => v.batcher).map((v) => ({ model: entry.name, version: v.version, depth: v.batcher?.depth ?? 0 })),
    );
  }

  /** Scores every queued request now, without waiting for batches to fill (shutdown). */
  flush(): void {
    for (const entry of this.entries.values()) for (const version of entry.versions.values()) void version.batcher?.drain();
  }

  /** Stops watching, then unloads every version once its in-flight requests end. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.polling;
    const versions = [...this.entries.values()].flatMap((entry) => [...entry.versions.values()]);
    await Promise.all(versions.map((v) => v.retire()));
  }

  private async poll(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      await pause(this.options.pollIntervalMs, signal);
      if (!signal.aborted) await this.scan(false);
    }
  }

  private async scan(initial: boolean): Promise<void> {
    let onDisk: Map<string, Map<number, VersionOnDisk>>;
    try {
      onDisk = await this.readRepository(initial);
      this.lastScanProblem = '';
    } catch (err) {
      // A transient problem (a folder renamed mid-scan, permissions): keep serving what is loaded.
      const problem = messageOf(err);
      if (problem !== this.lastScanProblem)
        this.options.log.warn('cannot read the model repository; serving what is loaded', { root: this.options.root, error: problem });
      this.lastScanProblem = problem;
      return;
    }
    for (const [name, entry] of this.entries) {
      if (onDisk.has(name)) continue;
      this.entries.delete(name);
      this.options.log.info('model folder removed; unloading its versions', { model: name });
      for (const version of entry.versions.values()) void version.retire();
    }
    // Graphs call the other models: those load first, so that a graph finds them serving.
    const ordered = [...onDisk].sort(([, a], [, b]) => Number(usesModels(a.values())) - Number(usesModels(b.values())));
    for (const [name, versions] of ordered) {
      if (this.stopping.signal.aborted) return;
      let entry = this.entries.get(name);
      if (!entry) {
        entry = { name, versions: new Map(), seen: new Map() };
        this.entries.set(name, entry);
      }
      await this.reconcile(entry, versions, initial);
    }
  }

  /** Loads the newest loadable versions up to `versionsServed`, then retires the older ones. */
  private async reconcile(entry: ModelEntry, onDisk: ReadonlyMap<number, VersionOnDisk>, initial: boolean): Promise<void> {
    for (const [number, version] of entry.versions) {
      if (onDisk.has(number)) continue;
      entry.versions.delete(number);
      if (version.state === 'available') this.options.log.info('version folder removed; retiring it', { model: entry.name, version: number });
      void version.retire();
    }
    let serving = 0;
    for (const number of [...onDisk.keys()].sort((a, b) => b - a)) {
      const disk = onDisk.get(number) as VersionOnDisk;
      const known = entry.versions.get(number);
      if (serving >= this.options.versionsServed) {
        if (known?.state === 'available') {
          this.options.log.info('model version retired: newer versions serve', { model: entry.name, version: number });
          void known.retire();
        }
        continue;
      }
      if (known?.state === 'available') {
        serving++;
        continue;
      }
      // A failed version is tried again only when its files change (a graph: or what the repository serves); a changing one waits for the next poll.
      if (known?.state === 'failed' && known.fingerprint === disk.fingerprint && (!usesModels([disk]) || known.servingWhenLoaded === this.servingKey()))
        continue;
      if (!initial && entry.seen.get(number) !== disk.fingerprint) continue;
      if (this.stopping.signal.aborted) return;
      const loaded = await this.load(entry, number, disk);
      if (loaded.state === 'available') serving++;
    }
    entry.seen = new Map([...onDisk].map(([number, disk]) => [number, disk.fingerprint]));
  }

  private async load(entry: ModelEntry, number: number, disk: VersionOnDisk): Promise<ServedVersion> {
    const { log, observer, executors } = this.options;
    const version = new ServedVersion(entry.name, number, disk.fingerprint, this.servingKey(), log);
    const context: ServableContext = { executors, models: this.catalog, routes: observer, log };
    entry.versions.set(number, version);
    const started = performance.now();
    try {
      const found = servableIn(disk.folder, disk.files);
      if (typeof found === 'string') throw new Error(found);
      const servable = await found.kind.load(found.path, entry.name, context);
      const signature = servable.metadata();
      version.servable = servable;
      version.signature = signature;
      version.batchable = isBatchable(signature);
      version.batcher = servable.batchesInside
        ? undefined
        : new Batcher(
            servable,
            this.options.batching,
            version.batchable,
            { modelName: entry.name, version: String(number) },
            {
              called: (rows, requests) => observer.called(entry.name, number, rows, requests),
            },
          );
      version.state = 'available';
      observer.loaded(entry.name, number, true);
      log.info('model version loaded', { model: entry.name, version: number, platform: servable.platform, ms: Math.round(performance.now() - started) });
    } catch (err) {
      version.state = 'failed';
      version.reason = messageOf(err);
      observer.loaded(entry.name, number, false);
      log.error('model version failed to load; the versions already serving go on', {
        model: entry.name,
        version: number,
        error: version.reason,
        serving: this.served(entry.name).map((v) => v.version),
      });
    }
    return version;
  }

  /** Model folders and their numbered version folders, with a fingerprint of each version's files. */
  private async readRepository(initial: boolean): Promise<Map<string, Map<number, VersionOnDisk>>> {
    const models = new Map<string, Map<number, VersionOnDisk>>();
    for (const modelDir of await readdir(this.options.root, { withFileTypes: true })) {
      if (!modelDir.isDirectory() || modelDir.name.startsWith('.')) continue;
      if (!modelNamePattern.test(modelDir.name)) {
        if (initial) this.options.log.warn('folder skipped: not a model name (letters, digits, . _ -)', { folder: join(this.options.root, modelDir.name) });
        continue;
      }
      const modelFolder = join(this.options.root, modelDir.name);
      const versions = new Map<number, VersionOnDisk>();
      for (const versionDir of await readdir(modelFolder, { withFileTypes: true })) {
        if (!versionDir.isDirectory() || !/^\d{1,15}$/.test(versionDir.name)) continue;
        const folder = join(modelFolder, versionDir.name);
        const entries = await readdir(folder, { withFileTypes: true });
        versions.set(Number(versionDir.name), { folder, files: entries.map((e) => e.name), fingerprint: await fingerprint(folder, entries) });
      }
      models.set(modelDir.name, versions);
    }
    return models;
  }
}

/** Names, sizes and modification times of a folder's entries: changes while a model is being written. */
async function fingerprint(folder: string, entries: readonly Dirent[]): Promise<string> {
  const parts = await Promise.all(
    entries.map(async (e) => {
      const info = await stat(join(folder, e.name));
      return `${e.name}:${info.size}:${info.mtimeMs}`;
    }),
  );
  return parts.sort().join('|');
}

/** Whether a model's version folders hold a kind that calls other models (a graph). */
function usesModels(versions: Iterable<VersionOnDisk>): boolean {
  for (const disk of versions) {
    const found = servableIn(disk.folder, disk.files);
    if (typeof found !== 'string' && found.kind.usesModels) return true;
  }
  return false;
}

function isBatchable(signature: ModelMetadata): boolean {
  const tensors = [...signature.inputs, ...signature.outputs];
  return signature.inputs.length > 0 && tensors.every((spec) => spec.shape.length > 0 && (spec.shape[0] ?? 0) < 0);
}
