/**
 * The model server's Prometheus metrics, in a registry of its own (never prom-client's global
 * one, so two servers in one process do not mix), served at `GET /metrics` on the HTTP port.
 * The `model` label only ever holds names from the repository (requests for unknown models are
 * counted under `model=""`), so clients cannot grow the label set.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RepositoryObserver, VersionReport } from './repository.js';

export interface MetricSources {
  queueDepths(): readonly { model: string; version: number; depth: number }[];
  versions(): readonly VersionReport[];
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'protocol' | 'model' | 'code'>;
  private readonly latency: Histogram<'protocol' | 'model'>;
  private readonly batchRows: Histogram<'model' | 'version'>;
  private readonly batchRequests: Histogram<'model' | 'version'>;
  private readonly loads: Counter<'model' | 'outcome'>;
  private readonly routed: Counter<'model' | 'router' | 'route'>;
  private readonly feedback: Counter<'model' | 'router' | 'route'>;
  private readonly rewards: Gauge<'model' | 'router' | 'route'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    this.requests = new Counter({
      name: 'sluice_server_requests_total',
      help: 'Requests answered, by protocol, model and status (HTTP status or gRPC status name)',
      labelNames: ['protocol', 'model', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'sluice_server_request_duration_seconds',
      help: 'Time from a request arriving to its answer being handed to the transport',
      labelNames: ['protocol', 'model'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.batchRows = new Histogram({
      name: 'sluice_server_batch_rows',
      help: 'Rows scored per model call',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
      registers,
    });
    this.batchRequests = new Histogram({
      name: 'sluice_server_batch_requests',
      help: 'Requests joined into one model call by dynamic batching',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128],
      registers,
    });
    this.loads = new Counter({
      name: 'sluice_server_model_loads_total',
      help: 'Model version loads, by outcome (loaded or failed)',
      labelNames: ['model', 'outcome'],
      registers,
    });
    // Per route of a graph's routers: its share of requests, and its mean reward (rewards / feedback).
    const routeLabels = ['model', 'router', 'route'] as const;
    this.routed = new Counter({
      name: 'sluice_server_graph_routed_total',
      help: 'Requests a graph router sent to each child',
      labelNames: routeLabels,
      registers,
    });
    this.feedback = new Counter({
      name: 'sluice_server_graph_feedback_total',
      help: 'Feedback messages credited to each child of a graph router',
      labelNames: routeLabels,
      registers,
    });
    this.rewards = new Gauge({
      name: 'sluice_server_graph_reward_sum',
      help: 'Sum of the rewards credited to each child of a graph router (a gauge: rewards may be negative)',
      labelNames: routeLabels,
      registers,
    });
    new Gauge({
      name: 'sluice_server_queue_depth',
      help: 'Requests waiting for a model call, per served version',
      labelNames: ['model', 'version'],
      registers,
      collect() {
        this.reset();
        for (const { model, version, depth } of sources.queueDepths()) this.set({ model, version: String(version) }, depth);
      },
    });
    new Gauge({
      name: 'sluice_server_model_versions',
      help: 'Model versions known to the repository, by state (loading, available, failed, unloading, unloaded)',
      labelNames: ['model', 'state'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, { model: string; state: string; count: number }>();
        for (const { model, state } of sources.versions()) {
          const key = `${model}\u0000${state}`;
          const entry = counts.get(key) ?? { model, state, count: 0 };
          entry.count++;
          counts.set(key, entry);
        }
        for (const { model, state, count } of counts.values()) this.set({ model, state }, count);
      },
    });
  }

  /** One answered request; `seconds` from arrival to answer. */
  answered(protocol: string, model: string, code: string, seconds: number): void {
    this.requests.inc({ protocol, model, code });
    this.latency.observe({ protocol, model }, seconds);
  }

  readonly repositoryObserver: RepositoryObserver = {
    called: (model, version, rows, requests) => {
      const labels = { model, version: String(version) };
      this.batchRows.observe(labels, rows);
      this.batchRequests.observe(labels, requests);
    },
    loaded: (model, _version, ok) => this.loads.inc({ model, outcome: ok ? 'loaded' : 'failed' }),
    routed: (model, router, route) => this.routed.inc({ model, router, route }),
    credited: (model, router, route, reward) => {
      this.feedback.inc({ model, router, route });
      this.rewards.inc({ model, router, route }, reward);
    },
  };

  /** The text exposition format, for `GET /metrics`. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
