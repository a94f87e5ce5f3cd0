/**
 * One running pipeline under measurement (bench/serving.conf on the local runtime): the harness's
 * producer → model-serving → the harness's sink, driven phase by phase.
 *
 * - A paced phase is Crayfish's rate-limited producer: record j of the phase is *created* at
 *   `start + j / rate` (its creation time is stamped from that schedule, so a producer held
 *   back by backpressure does not hide the wait: coordinated omission), handed to the runtime as
 *   soon as it is due (a 1 ms tick), and its latency is its result's arrival at the sink minus
 *   that creation time. A warm-up share of each phase's records is left out of its latencies.
 * - A flat-out phase emits as fast as backpressure lets it and counts results per second in a
 *   timed window after a warm-up.
 *
 * Results are paired with records by the index each record carries (`workload.indexOf`), so the
 * pairing does not rely on the runtime keeping order.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runApplication, type StartedApplication } from '../../src/app.js';
import { defineStreamlet, outlet } from '../../src/core/streamlet.js';
import { ModelDescriptorSchema, type ModelDescriptor } from '../../src/serving/descriptor.js';
import { ModelStateStore } from '../../src/serving/model-state.js';
import { packageRoot } from '../../src/util/package-root.js';
import { paced } from '../../src/util/pacing.js';
import type { AnyWorkload } from '../workloads/workload.js';
import { summarizeLatencies, type LatencySummary } from './quantiles.js';

export const SERVING_BLUEPRINT = join(packageRoot(), 'bench', 'serving.conf');

/** Records handed to the runtime in one `emitAll` at most (a producer that fell behind catches up in chunks). */
const CHUNK = 4_096;

export interface SessionOptions {
  readonly workload: AnyWorkload;
  /** Persisted in model-serving's volume before the start, so it serves the very first record. */
  readonly model: ModelDescriptor;
  /** `model-serving.batch-size`. */
  readonly batchSize: number;
  /** `model-serving.batch-wait` in ms: 0 scores whatever is waiting (adaptive batches), more waits for a batch to fill. */
  readonly batchWait: number;
  /** More `key=value` settings. */
  readonly overrides?: readonly string[];
  /** Gives up waiting for the model, a phase or its drain after this long (ms); default 120 s. */
  readonly timeoutMs?: number;
}

/** model-serving's `/state`, the fields the bench reads. */
interface ServingState {
  readonly name?: string;
  readonly usage: number;
  readonly calls: number;
  /** ms spent in model calls, as model-serving measures them. */
  readonly duration: number;
}

export interface Throughput {
  /** Results counted in the timed window. */
  readonly records: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** Records per model call, and ms per call as model-serving reports it (`/state`), in the window. */
  readonly meanBatch: number;
  readonly msPerCall: number;
}

export interface FlatOutOptions {
  readonly seconds: number;
  readonly warmupSeconds: number;
  /**
   * Wait for the records still in flight when the window closes before resolving (default true),
   * so that another phase can follow; false leaves them, for a session stopped next (at
   * batch-size 1 a full topic takes seconds to drain).
   */
  readonly drain?: boolean;
  /** Called synchronously as the timed window opens and closes (e.g. to profile just the window). */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
}

export interface PacedOptions {
  /** Records per second. */
  readonly rate: number;
  readonly seconds: number;
  /** Share of the phase's first records left out of its latencies. */
  readonly warmupShare: number;
  /** How long after the phase the results of its emitted records may still arrive, in seconds. */
  readonly drainSeconds: number;
  /** Called every ~`progressMs` while the phase runs, with its elapsed seconds and lag. */
  readonly onProgress?: (elapsed: number, lag: number) => void;
  readonly progressMs?: number;
}

export interface PacedMeasurement {
  readonly rate: number;
  readonly seconds: number;
  /** Records created in the phase (`rate × seconds`), and emitted by the producer. */
  readonly scheduled: number;
  readonly emitted: number;
  /** Records created and not yet arrived, half-way through the phase and at its end. */
  readonly lagMid: number;
  readonly lagEnd: number;
  /** Every emitted record's result arrived within the drain time. */
  readonly complete: boolean;
  /** Creation → sink, ms, of the records after the warm-up share that arrived. */
  readonly latency: LatencySummary;
  /** Those latencies, ascending (for CDFs). */
  readonly latencies: Float64Array;
  readonly meanBatch: number;
  /** Process CPU over wall time in the phase (1 = one core). */
  readonly cpuShare: number;
}

/** One phase of the producer: what to emit, and what came back. */
class Phase {
  readonly controller = new AbortController();
  /** performance.now() when the producer began the phase. */
  started = Number.NaN;
  emitted = 0;
  arrived = 0;
  unscored = 0;
  private begin = () => {};
  private end = () => {};
  private drainedWaiter: (() => void) | undefined;
  /** Resolves when the producer starts the phase, and when it stops emitting it. */
  readonly begun = new Promise<void>((resolve) => (this.begin = resolve));
  readonly ended = new Promise<void>((resolve) => (this.end = resolve));
  private done = false;

  constructor(
    /** Records per second; 0: as fast as backpressure allows. */
    readonly rate: number,
    /** Records at most. */
    readonly limit: number,
    /** The index of its first record. */
    readonly from: number,
    /** Per-record creation and arrival times (paced phases). */
    readonly createdAt: Float64Array | undefined,
    readonly arrivedAt: Float64Array | undefined,
  ) {}

  /** Records whose creation time is at or before `now`. */
  scheduledBy(now: number): number {
    if (this.rate === 0 || Number.isNaN(this.started)) return this.emitted;
    return Math.min(this.limit, Math.floor(((now - this.started) / 1000) * this.rate) + 1);
  }

  markBegun(at: number): void {
    this.started = at;
    this.begin();
  }

  markEnded(): void {
    this.done = true;
    this.end();
    this.checkDrained();
  }

  arrive(j: number, at: number, scored: boolean): void {
    this.arrived++;
    if (!scored) this.unscored++;
    if (this.arrivedAt) this.arrivedAt[j] = at;
    this.checkDrained();
  }

  /** Resolves once the producer has ended the phase and every record it emitted has arrived. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.drainedWaiter = resolve;
      this.checkDrained();
    });
  }

  private checkDrained(): void {
    if (this.done && this.arrived >= this.emitted && this.drainedWaiter) {
      this.drainedWaiter();
      this.drainedWaiter = undefined;
    }
  }
}

/** Hands phases from the harness to the producer, and arrivals from the sink to their phase. */
class Driver {
  private queued: Phase | undefined;
  private wake: (() => void) | undefined;
  current: Phase | undefined;
  /** The index of the next record the producer makes. */
  next = 0;

  submit(phase: Phase): void {
    this.queued = phase;
    this.wake?.();
  }

  async take(signal: AbortSignal): Promise<Phase | undefined> {
    while (!this.queued && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const aborted = () => resolve();
        this.wake = () => {
          signal.removeEventListener('abort', aborted);
          resolve();
        };
        signal.addEventListener('abort', aborted, { once: true });
      });
    }
    const phase = this.queued;
    this.queued = undefined;
    if (phase) this.current = phase;
    return signal.aborted ? undefined : phase;
  }
}

function sourceStreamlet(workload: AnyWorkload, driver: Driver) {
  return defineStreamlet({
    description: "Emits the workload's records as the bench drives it, stamping each one's creation time",
    outlets: { out: outlet(workload.data) },
    async run(ctx) {
      for (;;) {
        const phase = await driver.take(ctx.signal);
        if (!phase) return;
        const stop = () => phase.controller.abort();
        ctx.signal.addEventListener('abort', stop, { once: true });
        const { rate, createdAt } = phase;
        const started = performance.now();
        phase.markBegun(started);
        try {
          await paced({ rate, limit: phase.limit, signal: phase.controller.signal, tickMs: 1, burst: 512 }, async (count) => {
            for (let done = 0; done < count && !phase.controller.signal.aborted; done += CHUNK) {
              const n = Math.min(CHUNK, count - done);
              const batch = new Array<unknown>(n);
              const now = performance.now();
              for (let i = 0; i < n; i++) {
                const j = phase.emitted + i;
                batch[i] = workload.record(phase.from + j);
                if (createdAt) createdAt[j] = rate > 0 ? started + (j * 1000) / rate : now;
              }
              phase.emitted += n;
              driver.next += n;
              await ctx.emitAll('out', batch);
            }
          });
        } finally {
          ctx.signal.removeEventListener('abort', stop);
          phase.markEnded();
        }
      }
    },
  });
}

function sinkStreamlet(workload: AnyWorkload, driver: Driver) {
  return defineStreamlet({
    description: 'Stamps the arrival of each result, for the bench',
    inlets: { in: workload.result },
    async run(ctx) {
      for await (const batch of ctx.inlet('in').batches()) {
        const now = performance.now();
        const phase = driver.current;
        if (!phase) continue;
        for (const result of batch) {
          // Results of an earlier phase's records, arriving after it was measured, are left out.
          const j = workload.indexOf(result) - phase.from;
          if (j >= 0 && j < phase.emitted) phase.arrive(j, now, workload.scored(result));
        }
      }
    },
  });
}

/** Stands in for a model ingress: the model is restored from the volume, and no update comes. */
const QuietModels = defineStreamlet({
  description: 'Publishes no model updates',
  outlets: { out: outlet(ModelDescriptorSchema) },
  async run(ctx) {
    await new Promise((resolve) => (ctx.signal.aborted ? resolve(undefined) : ctx.signal.addEventListener('abort', resolve, { once: true })));
  },
});

export class ServingSession {
  /** Rejects when the application ends: it should run until `stop()`. */
  private readonly ended: Promise<never>;

  private constructor(
    private readonly app: StartedApplication,
    private readonly driver: Driver,
    private readonly stateDirectory: string,
    private readonly timeoutMs: number,
  ) {
    this.ended = app.finished.then((outcome) => Promise.reject(new Error(`the pipeline stopped${outcome.ok ? '' : `: ${String(outcome.error)}`}`)));
    // Handled where it is raced; after `stop()` nobody waits for it.
    this.ended.catch(() => undefined);
  }

  /** Starts the pipeline and resolves once model-serving serves the model. */
  static async start(options: SessionOptions): Promise<ServingSession> {
    const stateDirectory = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
    const volume = join(stateDirectory, 'model-serving', 'models');
    await mkdir(volume, { recursive: true });
    await new ModelStateStore(volume).save(options.model);
    const driver = new Driver();
    const timeoutMs = options.timeoutMs ?? 120_000;
    let app: StartedApplication;
    try {
      app = await runApplication({
        blueprint: SERVING_BLUEPRINT,
        packages: {
          bench: {
            Source: sourceStreamlet(options.workload, driver),
            Models: QuietModels,
            ModelServing: options.workload.serving,
            Sink: sinkStreamlet(options.workload, driver),
          },
        },
        // A stop does not drain what is in flight (see `flatOut`'s `drain`): the measurements are
        // taken by then. Ending streamlets mid-batch on a stop logs warnings, so only errors are shown.
        logLevel: 'error',
        overrides: [
          'sluice.http.port=0',
          'sluice.drain-timeout=0',
          `sluice.state-directory=${stateDirectory}`,
          `model-serving.batch-size=${options.batchSize}`,
          `model-serving.batch-wait=${options.batchWait}`,
          ...(options.overrides ?? []),
        ],
      });
    } catch (err) {
      await rm(stateDirectory, { recursive: true, force: true });
      throw err;
    }
    const session = new ServingSession(app, driver, stateDirectory, timeoutMs);
    try {
      await session.until(session.modelServed(options.model.modelName, performance.now() + timeoutMs), `model-serving to serve ${options.model.modelName}`);
    } catch (err) {
      await session.stop();
      throw err;
    }
    return session;
  }

  /** Flat out: results per second in a window of `seconds` after `warmupSeconds`. */
  async flatOut(options: FlatOutOptions): Promise<Throughput> {
    const phase = this.submit(0, Number.POSITIVE_INFINITY, false);
    await this.until(phase.begun, 'the producer to start');
    await sleep(options.warmupSeconds * 1000);
    const open = { at: performance.now(), arrived: phase.arrived, cpu: process.cpuUsage() };
    options.onWindowStart?.();
    const stateAtOpen = this.state();
    await sleep(options.seconds * 1000);
    const close = { at: performance.now(), arrived: phase.arrived, cpu: process.cpuUsage(open.cpu) };
    options.onWindowEnd?.();
    const [before, after] = await Promise.all([stateAtOpen, this.state()]);
    phase.controller.abort();
    if (options.drain ?? true) await this.until(phase.drained(), 'the flat-out records to drain');
    this.checkScored(phase);
    const calls = after.calls - before.calls;
    return {
      records: close.arrived - open.arrived,
      seconds: (close.at - open.at) / 1000,
      cpuSeconds: (close.cpu.user + close.cpu.system) / 1e6,
      meanBatch: calls > 0 ? (after.usage - before.usage) / calls : Number.NaN,
      msPerCall: calls > 0 ? (after.duration - before.duration) / calls : Number.NaN,
    };
  }

  /** A phase at a fixed rate: lag while it runs, then the latency of its records once they drained. */
  async paced(options: PacedOptions): Promise<PacedMeasurement> {
    if (!(options.rate > 0)) throw new RangeError(`a paced phase needs a positive rate, not ${options.rate}`);
    const scheduled = Math.max(1, Math.round(options.rate * options.seconds));
    const phase = this.submit(options.rate, scheduled, true);
    await this.until(phase.begun, 'the producer to start');
    const before = this.state();
    const cpu = process.cpuUsage();
    const lagAt = (): number => phase.scheduledBy(performance.now()) - phase.arrived;
    const ticker = options.onProgress
      ? setInterval(() => options.onProgress?.((performance.now() - phase.started) / 1000, lagAt()), options.progressMs ?? 250)
      : undefined;
    let lagMid = Number.NaN;
    let lagEnd = Number.NaN;
    let wall = options.seconds;
    let cpuSeconds = 0;
    try {
      await sleep(phase.started + (options.seconds * 1000) / 2 - performance.now());
      lagMid = lagAt();
      await sleep(phase.started + options.seconds * 1000 - performance.now());
      lagEnd = lagAt();
      wall = (performance.now() - phase.started) / 1000;
      const used = process.cpuUsage(cpu);
      cpuSeconds = (used.user + used.system) / 1e6;
    } finally {
      clearInterval(ticker);
    }
    // A producer held back by backpressure stops at the phase's end: the step has failed anyway.
    phase.controller.abort();
    const complete = await Promise.race([phase.drained().then(() => true), sleep(options.drainSeconds * 1000).then(() => false)]);
    if (!complete) await this.until(phase.ended, 'the producer to stop');
    this.checkScored(phase);
    const after = await this.state();
    const calls = after.calls - (await before).calls;
    const latencies = this.latenciesOf(phase, Math.floor(scheduled * options.warmupShare));
    return {
      rate: options.rate,
      seconds: options.seconds,
      scheduled,
      emitted: phase.emitted,
      lagMid,
      lagEnd,
      complete,
      latency: summarizeLatencies(latencies),
      latencies,
      meanBatch: calls > 0 ? (after.usage - (await before).usage) / calls : Number.NaN,
      cpuShare: cpuSeconds / wall,
    };
  }

  async stop(): Promise<void> {
    try {
      await this.app.stop();
    } finally {
      await rm(this.stateDirectory, { recursive: true, force: true });
    }
  }

  private submit(rate: number, limit: number, stamped: boolean): Phase {
    const phase = new Phase(rate, limit, this.driver.next, stamped ? new Float64Array(limit) : undefined, stamped ? new Float64Array(limit) : undefined);
    this.driver.submit(phase);
    return phase;
  }

  private latenciesOf(phase: Phase, skip: number): Float64Array {
    const { createdAt, arrivedAt } = phase;
    if (!createdAt || !arrivedAt) return new Float64Array(0);
    const latencies = new Float64Array(Math.max(0, phase.emitted - skip));
    let n = 0;
    for (let j = skip; j < phase.emitted; j++) {
      const arrived = arrivedAt[j] as number;
      if (arrived > 0) latencies[n++] = arrived - (createdAt[j] as number);
    }
    return latencies.subarray(0, n);
  }

  /** Every result of a measured phase must be scored: the model serves from the start. */
  private checkScored(phase: Phase): void {
    if (phase.unscored > 0) throw new Error(`${phase.unscored} of ${phase.arrived} results were not scored (see the log above)`);
  }

  private async state(): Promise<ServingState> {
    const response = await fetch(`${this.app.url}/model-serving/state`);
    if (!response.ok) throw new Error(`model-serving /state answered ${response.status}`);
    return (await response.json()) as ServingState;
  }

  /** Polls `/state` until it names the model (it is exposed once the persisted model is restored). */
  private async modelServed(modelName: string, deadline: number): Promise<void> {
    while (performance.now() < deadline) {
      const state = await this.state().catch(() => undefined);
      if (state?.name === modelName) return;
      await sleep(5);
    }
    throw new Error(`model-serving did not serve ${modelName} in ${this.timeoutMs} ms`);
  }

  /** `work`, unless the application ends or the timeout passes first. */
  private async until<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        this.ended,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), this.timeoutMs))),
      ]);
    } catch (err) {
      throw new Error(`while the bench waited for ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
