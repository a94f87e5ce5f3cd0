import { defineSchema, type AvroValue } from '../../core/schema.js';

export const driftTests = ['PSI', 'KS', 'CHI2'] as const;
export type DriftTest = (typeof driftTests)[number];

/** One test of one feature over one window of records, as a drift detector emits it on `drift`. */
const driftEvent = {
  type: 'record',
  name: 'DriftEvent',
  namespace: 'sluice.observe',
  doc: 'One drift test of one feature: a live window of records against the reference window.',
  fields: [
    { name: 'feature', type: 'string' },
    { name: 'test', type: { type: 'enum', name: 'DriftTest', symbols: driftTests } },
    { name: 'statistic', type: 'double', doc: 'PSI; the Kolmogorov–Smirnov D; or the chi-squared statistic.' },
    { name: 'pValue', type: ['null', 'double'], default: null, doc: 'The test p-value; null for PSI, which has none.' },
    {
      name: 'threshold',
      type: 'double',
      doc: 'PSI: the index above which the feature drifted. KS and CHI2: the significance level the p-value is compared with, after the correction for testing several features.',
    },
    { name: 'drifted', type: 'boolean' },
    { name: 'degreesOfFreedom', type: ['null', 'int'], default: null, doc: 'CHI2 only: categories compared − 1.' },
    { name: 'windowIndex', type: 'long', doc: 'Number of the live window since the reference was captured, from 0.' },
    { name: 'referenceSize', type: 'int', doc: "Values of the feature in the reference window (missing ones don't count)." },
    { name: 'windowSize', type: 'int', doc: 'Values of the feature in the live window.' },
    { name: 'modelName', type: 'string', doc: 'The model installed when the reference was captured; empty when none was announced.' },
    { name: 'detectedAt', type: 'long', doc: 'When the window closed (ms since the epoch).' },
  ],
} as const;

export const DriftEventSchema = defineSchema(driftEvent);
export type DriftEvent = AvroValue<typeof driftEvent>;
