import { defineSchema, type AvroValue } from '../../core/schema.js';

/** An outlier scorer's answer for one record, on its `scores` outlet. */
const outlierScore = {
  type: 'record',
  name: 'OutlierScore',
  namespace: 'sluice.observe',
  doc: "How far one record's features lie from the reference window.",
  fields: [
    { name: 'key', type: 'string', doc: 'Identifies the record (the key function of the scorer).' },
    { name: 'score', type: ['null', 'double'], default: null, doc: 'Mahalanobis distance, or RMS robust z-score; null when not scored (see note).' },
    { name: 'referenceQuantile', type: ['null', 'double'], default: null, doc: 'Share of reference records that score lower, in [0, 1].' },
    { name: 'threshold', type: ['null', 'double'], default: null, doc: 'Scores above it are outliers: the threshold-quantile of the reference scores.' },
    { name: 'outlier', type: 'boolean' },
    { name: 'method', type: { type: 'enum', name: 'OutlierMethod', symbols: ['MAHALANOBIS', 'ROBUST_Z'] } },
    { name: 'topFeatures', type: { type: 'array', items: 'string' }, doc: 'The features farthest from the reference centre, farthest first.' },
    { name: 'note', type: 'string', doc: 'Why the record was not scored (the reference is still being collected, a feature is missing); empty when scored.' },
  ],
} as const;

export const OutlierScoreSchema = defineSchema(outlierScore);
export type OutlierScoreRecord = AvroValue<typeof outlierScore>;
