import { config } from '../../src/core/config.js';
import { outlet } from '../../src/core/streamlet.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import { modelServing } from '../../src/serving/model-serving.js';
import type { ExecutorRegistry } from '../../src/serving/registry.js';
import { DEFAULT_THRESHOLD, maintenanceAdapter } from './adapter.js';
import { MachineScoreSchema, SensorReadingSchema } from './schemas.js';

const description = 'Scores machine sensor readings with the anomaly model most recently received on in-1: a score above the threshold is an alert';

/** Model serving with the maintenance adapter and its `threshold`; results are keyed by machine, so each machine's stay in order. */
export function maintenanceModelServing(executors: ExecutorRegistry = defaultExecutors()) {
  return modelServing({
    description,
    data: SensorReadingSchema,
    result: outlet(MachineScoreSchema, (r) => r.reading.machine),
    config: {
      threshold: config.double({
        description: `Anomaly score above which a reading raises an alert (default: the shipped model's, picked when it was built)`,
        default: DEFAULT_THRESHOLD,
        min: 0,
      }),
    },
    adapter: (values) => maintenanceAdapter(values.threshold),
    executors,
  });
}
