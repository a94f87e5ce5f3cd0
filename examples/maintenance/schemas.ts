import { defineSchema, type AvroValue } from '../../src/core/schema.js';
import type { NumericFieldOf } from '../../src/serving/fields-adapter.js';
import { modelResultMetadataDefinition } from '../../src/serving/result-metadata.js';

/** One reading of a machine's sensors, as the simulator publishes it (JSON) on `factory/<line>/<machine>/telemetry`. */
const sensorReading = {
  type: 'record',
  name: 'SensorReading',
  namespace: 'sluice.examples.maintenance',
  fields: [
    { name: 'machine', type: 'string', doc: 'Machine id, unique in the factory.' },
    { name: 'line', type: 'string', doc: 'Production line the machine stands on.' },
    { name: 'sequence', type: 'long', doc: 'Reading number of this machine, from 0.' },
    { name: 'timestamp', type: 'long', doc: 'When the reading was taken, ms since the epoch.' },
    { name: 'temperature', type: 'double', doc: 'Bearing temperature, °C.' },
    { name: 'vibration', type: 'double', doc: 'Vibration velocity, mm/s RMS.' },
    { name: 'pressure', type: 'double', doc: 'Hydraulic pressure, bar.' },
    { name: 'rpm', type: 'double', doc: 'Spindle speed, revolutions per minute.' },
  ],
} as const;

const machineScore = {
  type: 'record',
  name: 'MachineScore',
  namespace: 'sluice.examples.maintenance',
  fields: [
    { name: 'reading', type: sensorReading },
    {
      name: 'score',
      type: ['null', 'double'],
      default: null,
      doc: 'Anomaly score (squared Mahalanobis distance from healthy readings); null when not scored.',
    },
    { name: 'threshold', type: 'double', doc: 'Scores above it raise an alert.' },
    { name: 'alert', type: 'boolean' },
    { name: 'modelResultMetadata', type: modelResultMetadataDefinition },
  ],
} as const;

/** An alert as a row of the alerts table: one per anomalous reading, keyed by (machine, timestamp). */
const machineAlert = {
  type: 'record',
  name: 'MachineAlert',
  namespace: 'sluice.examples.maintenance',
  fields: [
    { name: 'machine', type: 'string' },
    { name: 'line', type: 'string' },
    { name: 'timestamp', type: 'long' },
    { name: 'score', type: 'double' },
    { name: 'threshold', type: 'double' },
    { name: 'temperature', type: 'double' },
    { name: 'vibration', type: 'double' },
    { name: 'pressure', type: 'double' },
    { name: 'rpm', type: 'double' },
    { name: 'model', type: 'string', doc: 'Name of the model that raised the alert.' },
  ],
} as const;

export const SensorReadingSchema = defineSchema(sensorReading);
export type SensorReading = AvroValue<typeof sensorReading>;
export const MachineScoreSchema = defineSchema(machineScore);
export type MachineScore = AvroValue<typeof machineScore>;
export const MachineAlertSchema = defineSchema(machineAlert);
export type MachineAlert = AvroValue<typeof machineAlert>;

/** The model's input columns, in order. */
export const sensorFeatures = ['temperature', 'vibration', 'pressure', 'rpm'] as const satisfies readonly NumericFieldOf<SensorReading>[];
