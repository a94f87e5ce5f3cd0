import { defineSchema, type AvroValue } from '../../src/core/schema.js';
import { modelResultMetadataDefinition } from '../../src/serving/result-metadata.js';

/** A record to score: four numeric features. Ids count up from 1, so a lost or repeated record shows. */
const driftRecord = {
  type: 'record',
  name: 'DriftRecord',
  namespace: 'sluice.examples.drift',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'x1', type: 'double' },
    { name: 'x2', type: 'double' },
    { name: 'x3', type: 'double' },
    { name: 'x4', type: 'double' },
    { name: 'generatedAt', type: 'long', doc: 'When the generator made it (ms since the epoch).' },
  ],
} as const;

/** The truth about a record, known only later: its label, and whether it was drawn after the shift. */
const labelledRecord = {
  type: 'record',
  name: 'LabelledRecord',
  namespace: 'sluice.examples.drift',
  fields: [
    { name: 'record', type: driftRecord },
    { name: 'label', type: 'int', doc: '0 or 1.' },
    { name: 'shifted', type: 'boolean', doc: 'Drawn from the world after the shift. Known to the generator, never to a model.' },
  ],
} as const;

const driftResult = {
  type: 'record',
  name: 'DriftResult',
  namespace: 'sluice.examples.drift',
  fields: [
    { name: 'inputRecord', type: driftRecord },
    { name: 'score', type: ['null', 'double'], default: null, doc: 'Probability of class 1; null when the record was not scored.' },
    { name: 'modelResultMetadata', type: modelResultMetadataDefinition },
  ],
} as const;

export const DriftRecordSchema = defineSchema(driftRecord);
export type DriftRecord = AvroValue<typeof driftRecord>;
export const LabelledRecordSchema = defineSchema(labelledRecord);
export type LabelledRecord = AvroValue<typeof labelledRecord>;
export const DriftResultSchema = defineSchema(driftResult);
export type DriftResult = AvroValue<typeof driftResult>;
