import { Kvm, KvWatchInclude, type KV } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { messageOf, SluiceError } from '../../core/errors.js';
import { controlBucket } from './names.js';
import type { NatsTopicPlan } from './plan.js';

/** What `sluice status` and `sluice scale` need to know of an application without its blueprint. */
export interface Topology {
  readonly application: string;
  readonly blueprint: string;
  readonly streamlets: readonly { readonly name: string; readonly className: string }[];
  readonly topics: readonly Pick<NatsTopicPlan, 'name' | 'stream' | 'subject' | 'model' | 'consumers'>[];
}

/** A running replica, as it reports itself every few seconds. */
export interface ReplicaReport {
  readonly streamlet: string;
  readonly replica: string;
  readonly pid: number;
  readonly host: string;
  /** Its HTTP endpoints (/state, /metrics). */
  readonly url: string;
  readonly startedAt: number;
  readonly at: number;
  /** The serving model's statistics, for a model-serving streamlet. */
  readonly state?: unknown;
}

/** How often a replica reports, and after how long without a report it counts as gone (ms). */
export const REPORT_INTERVAL_MS = 2_000;
export const REPORT_STALE_MS = 10_000;

/**
 * The application's control state on the broker, in one key-value bucket: its topology
 * (`topology`), the replicas wanted per streamlet (`scale.<streamlet>`), and one report per
 * running replica (`replica.<streamlet>.<id>`).
 */
export class ControlBucket {
  private constructor(
    private readonly kv: KV,
    readonly bucket: string,
  ) {}

  static async open(nc: NatsConnection, app: string, replicas = 1): Promise<ControlBucket> {
    const bucket = controlBucket(app);
    try {
      return new ControlBucket(await new Kvm(nc).create(bucket, { history: 1, storage: StorageType.File, replicas }), bucket);
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_NATS_STREAM', { what: 'key-value bucket', name: bucket, message: messageOf(err) }, { cause: err });
    }
  }

  /** Opens the bucket of an application that was started before; throws naming the application when there is none. */
  static async existing(nc: NatsConnection, app: string): Promise<{ control: ControlBucket; topology: Topology }> {
    const bucket = controlBucket(app);
    const kv = await new Kvm(nc).open(bucket);
    const control = new ControlBucket(kv, bucket);
    const topology = await control.topology().catch(() => undefined);
    if (!topology) {
      throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', {
        message: `no application ${app} on this broker (no bucket ${bucket} with its topology): start it with sluice run --runtime nats first`,
      });
    }
    return { control, topology };
  }

  async putTopology(topology: Topology): Promise<void> {
    await this.kv.put('topology', JSON.stringify(topology));
  }

  async topology(): Promise<Topology | undefined> {
    const entry = await this.kv.get('topology');
    return entry && entry.operation === 'PUT' ? entry.json<Topology>() : undefined;
  }

  async setScale(streamlet: string, replicas: number): Promise<void> {
    await this.kv.put(`scale.${streamlet}`, String(replicas));
  }

  async scale(streamlet: string): Promise<number | undefined> {
    const entry = await this.kv.get(`scale.${streamlet}`);
    return entry && entry.operation === 'PUT' ? Number(entry.string()) : undefined;
  }

  /** Calls `changed` for every scale change from now on, until `signal` aborts. */
  async watchScale(changed: (streamlet: string, replicas: number) => void, signal: AbortSignal): Promise<void> {
    const updates = await this.kv.watch({ key: 'scale.*', include: KvWatchInclude.UpdatesOnly });
    signal.addEventListener('abort', () => updates.stop(), { once: true });
    for await (const entry of updates) {
      if (entry.operation !== 'PUT') continue;
      const replicas = Number(entry.string());
      if (Number.isSafeInteger(replicas) && replicas >= 0) changed(entry.key.slice('scale.'.length), replicas);
    }
  }

  async report(report: ReplicaReport): Promise<void> {
    await this.kv.put(`replica.${report.streamlet}.${report.replica}`, JSON.stringify(report));
  }

  async forget(streamlet: string, replica: string): Promise<void> {
    await this.kv.delete(`replica.${streamlet}.${replica}`);
  }

  /** Reports of replicas heard from within REPORT_STALE_MS. */
  async replicas(now = Date.now()): Promise<ReplicaReport[]> {
    const reports: ReplicaReport[] = [];
    for await (const key of await this.kv.keys('replica.>')) {
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const report = entry.json<ReplicaReport>();
      if (now - report.at <= REPORT_STALE_MS) reports.push(report);
    }
    return reports.sort((a, b) => a.streamlet.localeCompare(b.streamlet) || a.replica.localeCompare(b.replica));
  }
}
