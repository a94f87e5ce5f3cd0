/**
 * The public entry points for applications: verify a blueprint with its configuration, and run
 * it. The CLI calls exactly these.
 */
import type { Application } from './blueprint/application.js';
import { DEAD_LETTERS_TOPIC } from './blueprint/dead-letter.js';
import type { PackageSource } from './blueprint/resolve.js';
import { blueprintError, loadBlueprint } from './blueprint/validate.js';
import { SluiceError } from './core/errors.js';
import { parseHoconFile, type HoconDocument } from './core/hocon.js';
import { createLogger, type Logger, type LogLevel } from './core/log.js';
import { startApplication, type RunningApplication } from './runtime/host.js';
import { groupName, LocalRuntime } from './runtime/local/runtime.js';
import type { Runtime } from './runtime/runtime.js';
import { overridesDocument, resolveSettings, type ApplicationSettings } from './runtime/settings.js';

/** Streamlet packages that ship with Sluice, loaded only when a blueprint names them. */
export const builtinPackages: Readonly<Record<string, PackageSource>> = {
  recommender: () => import('../examples/recommender/streamlets.js'),
  fraud: () => import('../examples/fraud/streamlets.js'),
  drift: () => import('../examples/drift/streamlets.js'),
  maintenance: () => import('../examples/maintenance/streamlets.js'),
};

export interface ApplicationOptions {
  /** Path of the blueprint file. */
  readonly blueprint: string;
  /** Config files, in layering order (later wins). */
  readonly conf?: readonly string[];
  /** `key=value` overrides; they win over every file. */
  readonly overrides?: readonly string[];
  /** More streamlet packages, looked up before the built-ins. */
  readonly packages?: Readonly<Record<string, PackageSource>>;
  /** Where logs go; by default stderr, at `logLevel`. */
  readonly log?: Logger;
  /** Overrides the configured `sluice.log.level` of the default logger. */
  readonly logLevel?: LogLevel;
  /** The default logger writes JSON lines, or compact lines for people when `pretty`. */
  readonly prettyLogs?: boolean;
  /** Resolves relative paths in config; the process's working directory by default. */
  readonly cwd?: string;
  /**
   * What carries the records: `local` (default), in-memory topics in this process, or `nats`,
   * JetStream streams on the broker of `sluice.nats.url`, shared with other processes.
   */
  readonly runtime?: 'local' | 'nats';
  /**
   * On `nats`: the streamlets this process runs (default: all); the others run elsewhere. A
   * process running only some stops reading at once on `stop()`: what it holds goes back to the broker.
   */
  readonly streamlets?: readonly string[];
  /** Aborting it gives up waiting for the broker at start. */
  readonly signal?: AbortSignal;
  /** On `nats`: this process's replica id in `sluice status`; default `<host>-<pid>`. */
  readonly replica?: string;
}

export interface Verified {
  readonly application: Application;
  readonly settings: ApplicationSettings;
}

/** Loads and checks the blueprint and its configuration; throws a SluiceError listing every problem. */
export async function verifyApplication(options: ApplicationOptions): Promise<Verified> {
  const { application, problems } = await loadBlueprint(options.blueprint, { packages: { ...builtinPackages, ...options.packages } });
  if (!application) throw blueprintError(options.blueprint, problems);
  const layers: HoconDocument[] = [];
  for (const file of options.conf ?? []) layers.push(await parseHoconFile(file));
  layers.push(overridesDocument(options.overrides ?? [], new Set(application.streamlets.keys())));
  return { application, settings: resolveSettings(application, layers, options.cwd) };
}

export interface StartedApplication extends RunningApplication {
  readonly application: Application;
  readonly settings: ApplicationSettings;
  readonly runtime: Runtime;
}

/** Starts the application's streamlets on its runtime. Stop it with `stop()`; `finished` tells how it ended. */
export async function runApplication(options: ApplicationOptions): Promise<StartedApplication> {
  const { application, settings } = await verifyApplication(options);
  const log = options.log ?? createLogger({ level: options.logLevel ?? settings.logLevel, pretty: options.prettyLogs ?? false });
  // Loaded only when asked for: the local runtime needs none of the NATS client.
  if (options.runtime === 'nats') return (await import('./runtime/nats/application.js')).runOnNats(application, settings, log, options);
  if (options.streamlets !== undefined) {
    throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: 'running some streamlets only needs a shared runtime: use the nats runtime' });
  }
  const runtime = new LocalRuntime({
    capacity: settings.topicCapacity,
    topics: application.topics.map((topic) => ({
      name: topic.name,
      groups: topic.consumers.map((c) => groupName({ topic: topic.name, ...c })),
      // The host writes dead letters through one sink of its own.
      producers: topic.name === DEAD_LETTERS_TOPIC ? 1 : topic.producers.length,
    })),
  });
  const running = await startApplication({
    application,
    runtime,
    settings: settings.host,
    streamlets: settings.streamlets,
    log,
    metricsEnabled: settings.metricsEnabled,
  });
  return { ...running, application, settings, runtime };
}
