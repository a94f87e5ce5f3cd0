import { basename, extname } from 'node:path';
import type { Registry } from 'prom-client';
import type { Application } from '../../blueprint/application.js';
import type { EndpointServer } from '../../runtime/endpoints.js';
import { ModelHistory } from './history.js';
import { isServingState, type GraphView, type Snapshot, type StreamletSample, type TopicSample } from './protocol.js';

interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly metricName?: string;
}

interface Counts {
  in: Record<string, number>;
  out: Record<string, number>;
  deadLetters: number;
  restarts: number;
  modelCalls?: { count: number; seconds: number };
}

/** The blueprint as the page draws it. */
export function graphView(application: Application): GraphView {
  return {
    application: basename(application.file, extname(application.file)),
    streamlets: [...application.streamlets.values()].map((s) => ({
      name: s.name,
      className: s.className,
      description: s.definition.description,
      inlets: Object.keys(s.definition.inlets),
      outlets: Object.keys(s.definition.outlets),
    })),
    topics: application.topics.map((t) => ({
      name: t.name,
      producers: t.producers.map((p) => ({ streamlet: p.streamlet, outlet: p.outlet })),
      consumers: t.consumers.map((c) => ({ streamlet: c.streamlet, inlet: c.inlet })),
    })),
  };
}

/**
 * Reads what the dashboard shows: the host's record counters from the application's metrics
 * registry, and each streamlet's `/state` view in-process (no HTTP to itself). `poll()` is cheap
 * (state views only) and feeds the model history even while no page is open.
 */
export class DashboardCollector {
  private readonly history = new ModelHistory();

  constructor(
    private readonly application: Application,
    private readonly registry: Registry,
    private readonly endpoints: EndpointServer,
  ) {}

  /** Reads every `/state` view and records model swaps and rejected updates. */
  poll(): Map<string, unknown> {
    const states = new Map<string, unknown>();
    for (const name of this.application.streamlets.keys()) {
      const view = this.endpoints.view(`/${name}/state`);
      if (!view) continue;
      let state: unknown;
      try {
        state = view();
      } catch (err) {
        state = { error: err instanceof Error ? err.message : String(err) };
      }
      states.set(name, state);
      if (isServingState(state)) this.history.observe(name, state);
    }
    return states;
  }

  async snapshot(): Promise<Snapshot> {
    const states = this.poll();
    const [recordsIn, recordsOut, deadLetters, restarts, depths, calls] = await Promise.all([
      this.samples('sluice_records_in_total'),
      this.samples('sluice_records_out_total'),
      this.samples('sluice_dead_letters_total'),
      this.samples('sluice_streamlet_restarts_total'),
      this.samples('sluice_topic_depth'),
      this.samples('sluice_model_call_seconds'),
    ]);
    const counts = new Map<string, Counts>();
    for (const s of this.application.streamlets.values()) {
      counts.set(s.name, {
        in: Object.fromEntries(Object.keys(s.definition.inlets).map((p) => [p, 0])),
        out: Object.fromEntries(Object.keys(s.definition.outlets).map((p) => [p, 0])),
        deadLetters: 0,
        restarts: 0,
      });
    }
    const of = (sample: Sample) => counts.get(String(sample.labels.streamlet));
    for (const s of recordsIn) {
      const c = of(s);
      if (c) c.in[String(s.labels.inlet)] = s.value;
    }
    for (const s of recordsOut) {
      const c = of(s);
      if (c) c.out[String(s.labels.outlet)] = s.value;
    }
    for (const s of deadLetters) {
      const c = of(s);
      if (c) c.deadLetters += s.value;
    }
    for (const s of restarts) {
      const c = of(s);
      if (c) c.restarts += s.value;
    }
    for (const s of calls) {
      const c = of(s);
      if (!c) continue;
      c.modelCalls ??= { count: 0, seconds: 0 };
      if (s.metricName?.endsWith('_count')) c.modelCalls.count += s.value;
      else if (s.metricName?.endsWith('_sum')) c.modelCalls.seconds += s.value;
    }
    const streamlets: Record<string, StreamletSample> = {};
    for (const [name, c] of counts) streamlets[name] = states.has(name) ? { ...c, state: states.get(name) } : c;

    const depth = new Map(depths.map((s) => [String(s.labels.topic), s.value]));
    const topics: Record<string, TopicSample> = {};
    for (const t of this.application.topics) topics[t.name] = { depth: depth.get(t.name) ?? null };

    return { time: Date.now(), streamlets, topics, history: this.history.events() };
  }

  private async samples(name: string): Promise<readonly Sample[]> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return [];
    const { values } = await metric.get();
    return values as readonly Sample[];
  }
}
