import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricCounter, MetricGauge, MetricHistogram, MetricLabels, StreamletMetrics } from '../core/metrics.js';

type Metric = Counter | Histogram | Gauge;

/** What every metric is when metrics are off. */
const ignored = { inc() {}, observe() {}, set() {} };

/**
 * One application's metrics, in its own registry (never prom-client's global one, so two
 * applications in one process do not mix). The host counts records per port, dead letters and
 * restarts; streamlets add their own through {@link forStreamlet}.
 */
export class ApplicationMetrics {
  readonly registry = new Registry();
  private readonly recordsIn: Counter<'streamlet' | 'inlet'>;
  private readonly recordsOut: Counter<'streamlet' | 'outlet'>;
  private readonly deadLetters: Counter<'streamlet' | 'port' | 'kind'>;
  private readonly restarts: Counter<'streamlet'>;

  /** @param topicDepths records waiting per topic; `enabled: false` makes every metric a no-op. */
  constructor(private readonly options: { readonly enabled: boolean; readonly topicDepths?: () => Readonly<Record<string, number>> }) {
    const topicDepths = options.enabled ? options.topicDepths : undefined;
    if (options.enabled) collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    const registers = options.enabled ? [this.registry] : [];
    this.recordsIn = new Counter({
      name: 'sluice_records_in_total',
      help: 'Records a streamlet read, per inlet',
      labelNames: ['streamlet', 'inlet'],
      registers,
    });
    this.recordsOut = new Counter({
      name: 'sluice_records_out_total',
      help: 'Records a streamlet emitted and the runtime accepted, per outlet',
      labelNames: ['streamlet', 'outlet'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'sluice_dead_letters_total',
      help: 'Records sent to dead-letters: undecodable input (kind=decode) or invalid output (kind=encode)',
      labelNames: ['streamlet', 'port', 'kind'],
      registers,
    });
    this.restarts = new Counter({
      name: 'sluice_streamlet_restarts_total',
      help: 'Restarts of a streamlet after its logic threw',
      labelNames: ['streamlet'],
      registers,
    });
    if (topicDepths) {
      new Gauge({
        name: 'sluice_topic_depth',
        help: 'Records in a topic not yet committed by its slowest consumer (local runtime)',
        labelNames: ['topic'],
        registers,
        collect() {
          for (const [topic, depth] of Object.entries(topicDepths())) this.set({ topic }, depth);
        },
      });
    }
  }

  /** A counter bound to one inlet: `inc(n)` on the hot path does no label lookup. */
  inlet(streamlet: string, inlet: string): { inc(n: number): void } {
    return this.options.enabled ? this.recordsIn.labels(streamlet, inlet) : ignored;
  }

  outlet(streamlet: string, outlet: string): { inc(n: number): void } {
    return this.options.enabled ? this.recordsOut.labels(streamlet, outlet) : ignored;
  }

  deadLettered(streamlet: string, port: string, kind: 'decode' | 'encode'): void {
    if (this.options.enabled) this.deadLetters.inc({ streamlet, port, kind });
  }

  restarted(streamlet: string): void {
    if (this.options.enabled) this.restarts.inc({ streamlet });
  }

  forStreamlet(streamlet: string): StreamletMetrics {
    if (!this.options.enabled) return { counter: () => ignored, histogram: () => ignored, gauge: () => ignored };
    const withStreamlet = (labels: MetricLabels | undefined) => ({ ...labels, streamlet });
    return {
      counter: (name, help, labelNames = []) => {
        const counter = this.metric(name, () => new Counter({ name, help, labelNames: ['streamlet', ...labelNames], registers: [this.registry] }));
        return { inc: (labels, value) => counter.inc(withStreamlet(labels), value ?? 1) } satisfies MetricCounter;
      },
      histogram: (name, help, labelNames, buckets) => {
        const histogram = this.metric(
          name,
          () => new Histogram({ name, help, labelNames: ['streamlet', ...labelNames], buckets: [...buckets], registers: [this.registry] }),
        );
        return { observe: (labels, value) => histogram.observe(withStreamlet(labels), value) } satisfies MetricHistogram;
      },
      gauge: (name, help, labelNames = []) => {
        const gauge = this.metric(name, () => new Gauge({ name, help, labelNames: ['streamlet', ...labelNames], registers: [this.registry] }));
        return { set: (labels, value) => gauge.set(withStreamlet(labels), value) } satisfies MetricGauge;
      },
    };
  }

  /** The text exposition format, for `GET /metrics`. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private metric<M extends Metric>(name: string, create: () => M): M {
    return (this.registry.getSingleMetric(name) as M | undefined) ?? create();
  }
}
