import { spawn, type ChildProcess } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Application } from '../../blueprint/application.js';
import { messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { Backoff } from '../../util/backoff.js';
import type { ApplicationSettings } from '../settings.js';
import { connectNats } from './connection.js';
import { ControlBucket } from './control.js';
import { natsTopicPlan } from './plan.js';
import { provisioner } from './provision.js';
import { topologyOf } from './reporting.js';

/** A replica that ran at least this long before failing starts its next restart from the shortest backoff again (ms). */
const STABLE_AFTER_MS = 60_000;
/** Time a replica gets after the drain timeout before it is killed (ms). */
const KILL_GRACE_MS = 5_000;
/** How often a supervised replica checks that its supervisor is still there (ms). */
const SUPERVISOR_CHECK_MS = 1_000;

/**
 * In a replica the supervisor started: calls `orphaned` once the supervisor is gone (killed
 * outright), so replicas in their own process groups do not outlive it. Returns a stop function.
 */
export function whenSupervisorGone(orphaned: () => void): () => void {
  const supervisor = Number(process.env.SLUICE_SUPERVISOR_PID);
  if (!Number.isInteger(supervisor) || supervisor <= 0) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === supervisor) return;
    clearInterval(timer);
    orphaned();
  }, SUPERVISOR_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export interface ReplicaCommand {
  readonly command: string;
  readonly args: readonly string[];
}

export interface SupervisorOptions {
  readonly application: Application;
  readonly settings: ApplicationSettings;
  /** How to start one replica of a streamlet in a process of its own. */
  readonly command: (streamlet: string) => ReplicaCommand;
  readonly log: Logger;
  /** Aborting it gives up waiting for the broker at start. */
  readonly signal?: AbortSignal;
}

interface Replica {
  readonly streamlet: string;
  readonly id: string;
  readonly backoff: Backoff;
  child: ChildProcess | undefined;
  startedAt: number;
  restarts: number;
  /** Scaled away or stopping: not restarted when it exits. */
  retired: boolean;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * Runs an application as one OS process per streamlet replica (`sluice run --runtime nats
 * --streamlet <name>`), as a container orchestrator would: a replica that exits with an error
 * is restarted with exponential backoff and reported, one that finishes (a source that is done)
 * is not. Replica counts come from the configuration (`sluice.streamlets.<name>.replicas`) and
 * follow `sluice scale` while running, through the control bucket. Nothing is lost when a
 * replica dies: what it had not committed is delivered again to the others.
 */
export class Supervisor {
  private readonly replicas = new Map<string, Replica[]>();
  private readonly stopping = new AbortController();
  private readonly exits = new Set<Promise<void>>();
  private stopped: Promise<void> | undefined;

  private constructor(
    private readonly options: SupervisorOptions,
    private readonly nc: NatsConnection,
    private readonly control: ControlBucket,
  ) {}

  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const { application, settings, log } = options;
    const app = settings.nats.application;
    const nc = await connectNats(settings.nats, log, options.signal, `sluice ${app} supervisor`);
    try {
      // Everything is created once here, so replicas starting together do not race for it.
      const topics = natsTopicPlan(application, app, new Set(application.streamlets.keys()));
      const provision = provisioner(nc, await jetstreamManager(nc), settings.nats, log);
      for (const topic of topics) {
        await provision.topic(topic);
        for (const consumer of topic.consumers) if (!consumer.broadcast) await provision.group(topic, consumer);
      }
      const control = await ControlBucket.open(nc, app, settings.nats.stream.replicas);
      await control.putTopology(topologyOf(application, app, topics));
      for (const name of application.streamlets.keys()) await control.setScale(name, settings.nats.replicas.get(name) ?? 1);
      const supervisor = new Supervisor(options, nc, control);
      for (const name of application.streamlets.keys()) supervisor.scaleTo(name, settings.nats.replicas.get(name) ?? 1);
      void control
        .watchScale((streamlet, n) => supervisor.scaleTo(streamlet, n), supervisor.stopping.signal)
        .catch((err: unknown) => log.error('stopped watching replica counts; sluice scale has no effect until restart', { error: messageOf(err) }));
      return supervisor;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** Replicas wanted and running, per streamlet. */
  counts(): Record<string, { wanted: number; running: number }> {
    const counts: Record<string, { wanted: number; running: number }> = {};
    for (const [streamlet, replicas] of this.replicas) {
      const live = replicas.filter((r) => !r.retired);
      counts[streamlet] = { wanted: live.length, running: live.filter((r) => r.child && r.child.exitCode === null && r.child.signalCode === null).length };
    }
    return counts;
  }

  /** Stops every replica (SIGTERM: each drains its in-flight work), killing those still there after the drain timeout. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping.abort();
      const children: ChildProcess[] = [];
      for (const replicas of this.replicas.values()) {
        for (const replica of replicas) {
          replica.retired = true;
          clearTimeout(replica.restartTimer);
          if (replica.child && replica.child.exitCode === null) children.push(replica.child);
        }
      }
      for (const child of children) child.kill('SIGTERM');
      const killer = setTimeout(() => {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, this.options.settings.host.drainTimeout + KILL_GRACE_MS);
      await Promise.all([...this.exits]);
      clearTimeout(killer);
      await this.nc.drain().catch(() => undefined);
    })();
    return this.stopped;
  }

  private scaleTo(streamlet: string, wanted: number): void {
    if (this.stopping.signal.aborted || !this.options.application.streamlets.has(streamlet)) return;
    const replicas = this.replicas.get(streamlet) ?? [];
    this.replicas.set(streamlet, replicas);
    const live = replicas.filter((r) => !r.retired);
    if (live.length !== wanted) this.options.log.info('scaling', { streamlet, from: live.length, to: wanted });
    for (let index = live.length; index < wanted; index++) {
      const { backoffMin: min, backoffMax: max } = this.options.settings.host.restart;
      const replica: Replica = {
        streamlet,
        id: `${streamlet}-${nextIndex(replicas)}`,
        backoff: new Backoff({ min, max, jitter: 0.2 }),
        child: undefined,
        startedAt: 0,
        restarts: 0,
        retired: false,
        restartTimer: undefined,
      };
      replicas.push(replica);
      this.launch(replica);
    }
    // Scale down from the newest: each stops reading, finishes what it holds and exits.
    for (const replica of live.slice(wanted).reverse()) {
      replica.retired = true;
      clearTimeout(replica.restartTimer);
      replica.child?.kill('SIGTERM');
    }
  }

  private launch(replica: Replica): void {
    const { command, args } = this.options.command(replica.streamlet);
    const child = spawn(command, [...args], {
      env: { ...process.env, SLUICE_REPLICA_ID: replica.id, SLUICE_SUPERVISOR_PID: String(process.pid) },
      // A process group of its own: a Ctrl-C on the terminal reaches the supervisor, which stops replicas once.
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    replica.child = child;
    replica.startedAt = Date.now();
    this.options.log.info('replica started', { streamlet: replica.streamlet, replica: replica.id, pid: child.pid });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited(replica, code, signal);
        resolve();
      });
      child.once('error', (err) => {
        this.options.log.error('replica cannot start', { streamlet: replica.streamlet, replica: replica.id, error: err.message });
      });
    });
    this.exits.add(exited);
    void exited.then(() => this.exits.delete(exited));
  }

  private exited(replica: Replica, code: number | null, signal: NodeJS.Signals | null): void {
    const { log } = this.options;
    const where = { streamlet: replica.streamlet, replica: replica.id, pid: replica.child?.pid, code, signal };
    const list = this.replicas.get(replica.streamlet) ?? [];
    if (replica.retired || code === 0) {
      log.info(code === 0 && !replica.retired ? 'replica finished' : 'replica stopped', where);
      const at = list.indexOf(replica);
      if (at >= 0) list.splice(at, 1);
      return;
    }
    // A replica killed outright left its report behind.
    void this.control.forget(replica.streamlet, replica.id).catch(() => undefined);
    if (Date.now() - replica.startedAt >= STABLE_AFTER_MS) replica.backoff.reset();
    const delay = Math.round(replica.backoff.next());
    replica.restarts++;
    log.error('replica exited; restarting', { ...where, restarts: replica.restarts, retryInMs: delay });
    replica.restartTimer = setTimeout(() => {
      if (!replica.retired) this.launch(replica);
    }, delay);
  }
}

/** The lowest replica index not in use, so a streamlet's replicas are numbered 0..n-1 whatever was scaled away. */
function nextIndex(replicas: readonly Replica[]): number {
  const used = new Set(replicas.map((r) => Number(r.id.slice(r.id.lastIndexOf('-') + 1))));
  let index = 0;
  while (used.has(index)) index++;
  return index;
}
