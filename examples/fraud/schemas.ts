import { defineSchema, type AvroValue } from '../../src/core/schema.js';
import type { NumericFieldOf } from '../../src/serving/fields-adapter.js';
import { modelResultMetadataDefinition } from '../../src/serving/result-metadata.js';

/**
 * A card transaction, as in the Kaggle credit-card fraud data: 28 anonymised (PCA) features
 * `v1`..`v28` and the `amount`. Every feature is nullable, so a record can arrive with a field
 * missing. `label` is the ground truth the generator knows; no model ever sees it.
 */
const transactionRecord = {
  type: 'record',
  name: 'TransactionRecord',
  namespace: 'sluice.examples.fraud',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'v1', type: ['null', 'double'], default: null },
    { name: 'v2', type: ['null', 'double'], default: null },
    { name: 'v3', type: ['null', 'double'], default: null },
    { name: 'v4', type: ['null', 'double'], default: null },
    { name: 'v5', type: ['null', 'double'], default: null },
    { name: 'v6', type: ['null', 'double'], default: null },
    { name: 'v7', type: ['null', 'double'], default: null },
    { name: 'v8', type: ['null', 'double'], default: null },
    { name: 'v9', type: ['null', 'double'], default: null },
    { name: 'v10', type: ['null', 'double'], default: null },
    { name: 'v11', type: ['null', 'double'], default: null },
    { name: 'v12', type: ['null', 'double'], default: null },
    { name: 'v13', type: ['null', 'double'], default: null },
    { name: 'v14', type: ['null', 'double'], default: null },
    { name: 'v15', type: ['null', 'double'], default: null },
    { name: 'v16', type: ['null', 'double'], default: null },
    { name: 'v17', type: ['null', 'double'], default: null },
    { name: 'v18', type: ['null', 'double'], default: null },
    { name: 'v19', type: ['null', 'double'], default: null },
    { name: 'v20', type: ['null', 'double'], default: null },
    { name: 'v21', type: ['null', 'double'], default: null },
    { name: 'v22', type: ['null', 'double'], default: null },
    { name: 'v23', type: ['null', 'double'], default: null },
    { name: 'v24', type: ['null', 'double'], default: null },
    { name: 'v25', type: ['null', 'double'], default: null },
    { name: 'v26', type: ['null', 'double'], default: null },
    { name: 'v27', type: ['null', 'double'], default: null },
    { name: 'v28', type: ['null', 'double'], default: null },
    { name: 'amount', type: ['null', 'double'], default: null },
    { name: 'label', type: 'boolean', default: false, doc: 'Ground truth: true for a fraudulent transaction. Known to the generator, never to the model.' },
  ],
} as const;

const fraudResult = {
  type: 'record',
  name: 'FraudResult',
  namespace: 'sluice.examples.fraud',
  fields: [
    { name: 'inputRecord', type: transactionRecord },
    { name: 'score', type: ['null', 'double'], default: null, doc: 'Reconstruction error of the autoencoder; null when the record was not scored.' },
    { name: 'threshold', type: 'double', doc: 'Scores above it are fraud.' },
    { name: 'verdict', type: { type: 'enum', name: 'FraudVerdict', symbols: ['normal', 'fraud', 'error'] } },
    { name: 'modelResultMetadata', type: modelResultMetadataDefinition },
  ],
} as const;

export const TransactionRecordSchema = defineSchema(transactionRecord);
export type TransactionRecord = AvroValue<typeof transactionRecord>;
export const FraudResultSchema = defineSchema(fraudResult);
export type FraudResult = AvroValue<typeof fraudResult>;
export type FraudVerdict = FraudResult['verdict'];

/** The model's input columns, in order: the 28 features, then the amount. */
export const transactionFeatures = [
  'v1',
  'v2',
  'v3',
  'v4',
  'v5',
  'v6',
  'v7',
  'v8',
  'v9',
  'v10',
  'v11',
  'v12',
  'v13',
  'v14',
  'v15',
  'v16',
  'v17',
  'v18',
  'v19',
  'v20',
  'v21',
  'v22',
  'v23',
  'v24',
  'v25',
  'v26',
  'v27',
  'v28',
  'amount',
] as const satisfies readonly NumericFieldOf<TransactionRecord>[];
export type TransactionFeature = (typeof transactionFeatures)[number];
