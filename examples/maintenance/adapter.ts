import type { ServingAdapter } from '../../src/serving/adapter.js';
import { fieldsAdapter, type FieldValues } from '../../src/serving/fields-adapter.js';
import { sensorFeatures, type MachineScore, type SensorReading } from './schemas.js';

/**
 * The anomaly model's contract. Input `readings`: float32 [n,4], one row per reading, the raw
 * temperature, vibration, pressure and rpm. Output `score`: float32 [n,1], how far the reading
 * lies from healthy ones (the shipped model: squared Mahalanobis distance). Any model honouring
 * it serves with this adapter.
 */
export const MAINTENANCE_INPUT = 'readings';
export const MAINTENANCE_OUTPUT = 'score';

/**
 * The threshold the shipped model was built with (`models/build-model.ts`: 1.3 × the 99.9th
 * percentile of held-out healthy scores). A test rebuilds the model and checks it still holds.
 */
export const DEFAULT_THRESHOLD = 23.97;

/** Readings → the model's `readings` rows → `score` → an alert when the score is above `threshold`. */
export function maintenanceAdapter(threshold: number): ServingAdapter<SensorReading, FieldValues, MachineScore> {
  return fieldsAdapter<SensorReading, MachineScore>(
    { inputs: { [MAINTENANCE_INPUT]: sensorFeatures }, outputs: [{ name: MAINTENANCE_OUTPUT, width: 1 }] },
    (reading, values, metadata) => {
      const score = values?.[MAINTENANCE_OUTPUT]?.[0];
      if (metadata.errors !== '' || score === undefined || Number.isNaN(score)) {
        const errors = metadata.errors || (score === undefined ? 'the model returned no score' : 'the model returned a score of NaN');
        return { reading, score: null, threshold, alert: false, modelResultMetadata: { ...metadata, errors } };
      }
      return { reading, score, threshold, alert: score > threshold, modelResultMetadata: metadata };
    },
  );
}
