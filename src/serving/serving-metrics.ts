import type { StreamletMetrics } from '../core/metrics.js';

/** What a model slot reports as it serves; `ModelSlot` takes any implementation (tests pass a recorder). */
export interface ServingObserver {
  /** One model call that scored `records` records in `seconds`. */
  called(model: string, records: number, seconds: number): void;
  failed(model: string, records: number): void;
  withoutModel(records: number): void;
  swapped(model: string): void;
  rejected(code: string): void;
}

const secondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];
const batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** The model-serving metrics, on a streamlet's metrics. */
export function servingMetrics(metrics: StreamletMetrics): ServingObserver {
  const latency = metrics.histogram('sluice_model_call_seconds', 'Duration of one model call (a batch), per model', ['model'], secondsBuckets);
  const batch = metrics.histogram('sluice_model_batch_records', 'Records scored in one model call, per model', ['model'], batchBuckets);
  const records = metrics.counter('sluice_model_records_total', 'Records answered, per model and outcome (scored, failed, no_model)', ['model', 'outcome']);
  const swaps = metrics.counter('sluice_model_swaps_total', 'Model updates installed', ['model']);
  const rejected = metrics.counter('sluice_model_updates_rejected_total', 'Model updates rejected (the old model kept serving), per error code', ['code']);
  return {
    called(model, n, seconds) {
      latency.observe({ model }, seconds);
      batch.observe({ model }, n);
      records.inc({ model, outcome: 'scored' }, n);
    },
    failed: (model, n) => records.inc({ model, outcome: 'failed' }, n),
    withoutModel: (n) => records.inc({ model: '', outcome: 'no_model' }, n),
    swapped: (model) => swaps.inc({ model }),
    rejected: (code) => rejected.inc({ code }),
  };
}
