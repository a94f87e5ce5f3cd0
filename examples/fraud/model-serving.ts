import { config } from '../../src/core/config.js';
import { outlet } from '../../src/core/streamlet.js';
import type { ExecutorRegistry } from '../../src/serving/registry.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import { modelServing } from '../../src/serving/model-serving.js';
import { DEFAULT_THRESHOLD, fraudAdapter } from './adapter.js';
import { FraudResultSchema, TransactionRecordSchema } from './schemas.js';

const description = 'Scores card transactions with the fraud model most recently received on in-1: reconstruction error above the threshold is fraud';

/** Model serving with the fraud adapter and its `threshold`, a config parameter of its own. */
export function fraudModelServing(executors: ExecutorRegistry = defaultExecutors()) {
  return modelServing({
    description,
    data: TransactionRecordSchema,
    result: outlet(FraudResultSchema, (r) => String(r.inputRecord.id)),
    config: {
      threshold: config.double({
        description: `Reconstruction error above which a transaction is fraud (default: the shipped model's, picked by its training)`,
        default: DEFAULT_THRESHOLD,
        min: 0,
      }),
    },
    adapter: (values) => fraudAdapter(values.threshold),
    executors,
  });
}
