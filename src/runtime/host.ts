import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEAD_LETTERS_TOPIC } from '../blueprint/dead-letter.js';
import type { Application } from '../blueprint/application.js';
import { isSluiceError, messageOf, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Schema } from '../core/schema.js';
import type { OutletSpec } from '../core/streamlet.js';
import { installDashboard } from '../observe/dashboard/server.js';
import { ApplicationMetrics } from '../observe/metrics.js';
import { createContext, type InletWiring, type OutletWiring } from './context.js';
import { DeadLetters } from './dead-letters.js';
import { EndpointServer } from './endpoints.js';
import type { Runtime, RuntimeSink } from './runtime.js';
import { Backoff, pause } from '../util/backoff.js';

/** How long stopped streamlets get to return once their inlets and emits were cut off. */
const KILL_GRACE_MS = 1_000;

export interface RestartPolicy {
  /** Restarts allowed per streamlet before the application stops with an error. */
  readonly maxRestarts: number;
  readonly backoffMin: number;
  readonly backoffMax: number;
}

export interface HostSettings {
  readonly http: { readonly host: string; readonly port: number };
  /** How long a stop waits for in-flight work to drain before ending it (ms). */
  readonly drainTimeout: number;
  readonly restart: RestartPolicy;
  readonly batch: { readonly maxSize: number; readonly maxWait: number };
}

export interface StreamletSettings {
  readonly config: Readonly<Record<string, unknown>>;
  readonly volumes: Readonly<Record<string, string>>;
}

export interface HostOptions {
  readonly application: Application;
  readonly runtime: Runtime;
  readonly settings: HostSettings;
  readonly streamlets: ReadonlyMap<string, StreamletSettings>;
  readonly log: Logger;
  /** Off: counters do nothing and `/metrics` is empty (to measure what they cost). Default on. */
  readonly metricsEnabled?: boolean;
}

export type Outcome = { readonly ok: true } | { readonly ok: false; readonly streamlet: string; readonly error: Error };

export interface RunningApplication {
  /** Base URL of the application's HTTP endpoints. */
  readonly url: string;
  readonly endpoints: EndpointServer;
  readonly deadLetters: DeadLetters;
  readonly metrics: ApplicationMetrics;
  /** Settles when every streamlet has ended, by itself or by `stop()`. */
  readonly finished: Promise<Outcome>;
  /** Stops sources, drains in-flight work (up to the drain timeout), then releases everything. */
  stop(): Promise<Outcome>;
}

/**
 * Runs every streamlet of an application on a runtime. Each streamlet runs under a supervisor:
 * if its logic throws, the failure is logged with its name and it restarts with exponential
 * backoff from its last committed position; past `maxRestarts` the whole application stops and
 * reports that streamlet as the failure.
 */
export async function startApplication(options: HostOptions): Promise<RunningApplication> {
  const { application, runtime, settings, log } = options;
  const stopping = new AbortController();
  const killed = new AbortController();
  const endpoints = new EndpointServer(log);
  const metrics = new ApplicationMetrics({ enabled: options.metricsEnabled ?? true, topicDepths: () => runtime.backlog() });
  const hasDeadLetterTopic = application.topics.some((t) => t.name === DEAD_LETTERS_TOPIC);
  const deadLetters = new DeadLetters(
    hasDeadLetterTopic ? runtime.sink({ topics: [DEAD_LETTERS_TOPIC], streamlet: 'sluice', outlet: DEAD_LETTERS_TOPIC }) : undefined,
    log,
  );

  const sinks = new Map<string, Map<string, OutletWiring>>();
  for (const [name, streamlet] of application.streamlets) {
    const outlets = new Map<string, OutletWiring>();
    for (const [outletName, spec] of Object.entries(streamlet.definition.outlets)) {
      const topics = application.topics.filter((t) => t.producers.some((p) => p.streamlet === name && p.outlet === outletName)).map((t) => t.name);
      const sink: RuntimeSink | undefined = topics.length > 0 ? runtime.sink({ topics, streamlet: name, outlet: outletName }) : undefined;
      outlets.set(outletName, { spec: spec as OutletSpec<unknown>, sink });
    }
    sinks.set(name, outlets);
  }

  let failure: Outcome | undefined;
  const supervise = async (name: string): Promise<void> => {
    const streamlet = application.streamlets.get(name);
    const own = options.streamlets.get(name);
    if (!streamlet || !own) throw new Error(`no settings for streamlet ${name}`);
    const slog = log.child({ streamlet: name });
    const outlets = sinks.get(name) ?? new Map<string, OutletWiring>();
    try {
      const backoff = new Backoff({ min: settings.restart.backoffMin, max: settings.restart.backoffMax });
      for (let attempt = 0; ; attempt++) {
        const inlets = wireInlets(application, runtime, name);
        try {
          for (const path of Object.values(own.volumes)) mkdirSync(path, { recursive: true });
          const ctx = createContext({
            name,
            definition: streamlet.definition,
            config: own.config,
            volumes: own.volumes,
            log: slog,
            stopping: stopping.signal,
            killed: killed.signal,
            inlets,
            outlets,
            deadLetters,
            endpoints,
            metrics,
            batch: settings.batch,
          });
          await streamlet.definition.run(ctx);
          return;
        } catch (err) {
          if (killed.signal.aborted) return;
          const error = err instanceof Error ? err : new Error(String(err));
          if (isSluiceError(err, 'SLUICE_ERR_CONFIG_INVALID')) {
            // A restart would read the same configuration and fail the same way.
            slog.error('streamlet configuration is invalid; stopping the application', { error: error.message });
            fail(name, error);
            return;
          }
          if (attempt >= settings.restart.maxRestarts) {
            slog.error('streamlet failed; no restarts left, stopping the application', { error: error.message, restarts: attempt });
            fail(name, error);
            return;
          }
          const delay = backoff.next();
          slog.error('streamlet failed; restarting', { error: error.message, attempt: attempt + 1, backoffMs: delay });
          metrics.restarted(name);
          await pause(delay, killed.signal);
        } finally {
          await Promise.all([...inlets.values()].map((i) => i.source.close()));
        }
      }
    } finally {
      // Done for good: the topics it feeds end once every producer is done.
      await Promise.all([...outlets.values()].map((o) => o.sink?.close()));
    }
  };

  let url = '';
  try {
    url = await endpoints.listen(settings.http.host, settings.http.port);
  } catch (err) {
    throw new SluiceError(
      'SLUICE_ERR_CONFIG_INVALID',
      { where: 'sluice.http.port', message: `cannot listen on ${settings.http.host}:${settings.http.port}: ${messageOf(err)}` },
      { cause: err },
    );
  }
  endpoints.json('/streamlets', () => [...application.streamlets.values()].map((s) => ({ name: s.name, className: s.className })));
  endpoints.get('/metrics', async (_req, res) => {
    const { contentType, body } = await metrics.exposition();
    res.writeHead(200, { 'content-type': contentType }).end(body);
  });
  installDashboard(endpoints, { application, metrics, log });

  const busy = new Set(application.streamlets.keys());
  const running = Promise.all(
    [...busy].map((name) =>
      supervise(name).finally(() => {
        busy.delete(name);
      }),
    ),
  );
  let released: Promise<void> | undefined;
  const release = () => {
    released ??= (async () => {
      await deadLetters.close();
      await endpoints.close();
      await runtime.close();
    })();
    return released;
  };

  let stopped: Promise<Outcome> | undefined;
  const stop = (drain = true): Promise<Outcome> => {
    stopped ??= (async () => {
      stopping.abort(new SluiceError('SLUICE_ERR_SHUTDOWN', { message: 'application stopping' }));
      if (drain) {
        log.info('stopping: draining in-flight work', { drainTimeoutMs: settings.drainTimeout });
        if (!(await settlesWithin(running, settings.drainTimeout))) {
          log.warn('drain timeout passed; ending streamlets that are still busy', { busy: [...busy], drainTimeoutMs: settings.drainTimeout });
        }
      }
      killed.abort(new SluiceError('SLUICE_ERR_SHUTDOWN', { message: drain ? 'drain timeout passed' : 'application failed' }));
      if (!(await settlesWithin(running, KILL_GRACE_MS))) {
        log.error('streamlets ignored the stop and are left behind', { busy: [...busy] });
      }
      await release();
      return failure ?? { ok: true };
    })();
    return stopped;
  };
  const fail = (streamlet: string, error: Error) => {
    failure ??= { ok: false, streamlet, error: new SluiceError('SLUICE_ERR_STREAMLET_FAILED', { streamlet, message: error.message }, { cause: error }) };
    // A failed streamlet reads no more, so upstream work cannot drain: end everything now.
    void stop(false);
  };

  const finished: Promise<Outcome> = Promise.race([
    running.then(async () => {
      await release();
      return failure ?? ({ ok: true } as const);
    }),
    new Promise<Outcome>((resolve) => {
      stopping.signal.addEventListener('abort', () => void stop().then(resolve), { once: true });
    }),
  ]);

  return { url, endpoints, deadLetters, metrics, finished, stop };
}

/** True when `promise` settles within `ms`; the timer never outlives the answer. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      sleep(ms, false, { signal: timer.signal }),
    ]);
  } finally {
    timer.abort();
  }
}

function wireInlets(application: Application, runtime: Runtime, name: string): Map<string, InletWiring> {
  const inlets = new Map<string, InletWiring>();
  const streamlet = application.streamlets.get(name);
  if (!streamlet) return inlets;
  for (const [inletName, reader] of Object.entries(streamlet.definition.inlets)) {
    const topic = application.topics.find((t) => t.consumers.some((c) => c.streamlet === name && c.inlet === inletName));
    if (!topic) continue;
    const schema = reader as Schema<unknown>;
    const decode = schema.decoderFor(topic.schema);
    // Same schema on both ends: a value produced in this process is passed on as it is.
    const shared = schema.type.equals(topic.schema.type);
    inlets.set(inletName, {
      topic: topic.name,
      source: runtime.source({ topic: topic.name, streamlet: name, inlet: inletName }),
      read: (record, where) => (shared && record.value !== undefined ? record.value : decode(record.payload, where)),
    });
  }
  return inlets;
}
