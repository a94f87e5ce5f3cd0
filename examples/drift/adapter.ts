import type { ServingAdapter } from '../../src/serving/adapter.js';
import { fieldsAdapter, type FieldValues } from '../../src/serving/fields-adapter.js';
import type { DriftRecord, DriftResult } from './schemas.js';
import { DRIFT_FEATURES } from './world.js';

/**
 * The drift example's model contract: input `features` float32 [n,4] (x1..x4), output `score`
 * float32 [n,1], the probability of class 1 — what `denseClassifierTrainer` trains.
 */
export const DRIFT_INPUT = 'features';
export const DRIFT_OUTPUT = 'score';

export const driftAdapter: ServingAdapter<DriftRecord, FieldValues, DriftResult> = fieldsAdapter<DriftRecord, DriftResult>(
  { inputs: { [DRIFT_INPUT]: DRIFT_FEATURES }, outputs: [{ name: DRIFT_OUTPUT, width: 1 }] },
  (record, values, metadata) => {
    const score = values?.[DRIFT_OUTPUT]?.[0];
    return { inputRecord: record, score: metadata.errors === '' && score !== undefined ? score : null, modelResultMetadata: metadata };
  },
);
