/**
 * What a streamlet can measure, named so it can be scraped (Prometheus conventions: snake_case,
 * `_total` for counters, base units such as seconds). The host adds the `streamlet` label; a
 * streamlet only names its own labels. Creating the same metric twice returns the first one, so
 * a restarted streamlet keeps counting where it was.
 */
export type MetricLabels = Readonly<Record<string, string>>;

export interface MetricCounter {
  inc(labels?: MetricLabels, value?: number): void;
}

export interface MetricHistogram {
  observe(labels: MetricLabels, value: number): void;
}

export interface MetricGauge {
  set(labels: MetricLabels, value: number): void;
}

export interface StreamletMetrics {
  counter(name: string, help: string, labelNames?: readonly string[]): MetricCounter;
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): MetricHistogram;
  gauge(name: string, help: string, labelNames?: readonly string[]): MetricGauge;
}
