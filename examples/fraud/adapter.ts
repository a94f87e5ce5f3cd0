import type { ServingAdapter } from '../../src/serving/adapter.js';
import { fieldsAdapter, type FieldValues } from '../../src/serving/fields-adapter.js';
import { transactionFeatures, type FraudResult, type TransactionRecord } from './schemas.js';

/**
 * The fraud model's contract. Input `features`: float32 [n,29], one row per transaction, the raw
 * features v1..v28 then the amount. Output `score`: float32 [n,1], the reconstruction error —
 * the mean squared difference between the standardised input and the autoencoder's
 * reconstruction of it. Standardisation is inside the model, so any model honouring this
 * contract (any format, any training) serves with the same adapter.
 */
export const FRAUD_INPUT = 'features';
export const FRAUD_OUTPUT = 'score';

/**
 * The threshold the shipped model was trained with (`models/train.ts`: 1.5 × the 99.9th
 * percentile of the reconstruction errors of held-out normal transactions). A test retrains the
 * model and checks this value still holds.
 */
export const DEFAULT_THRESHOLD = 0.1705;

/**
 * Transactions → the model's `features` rows (records with a missing field are answered with an
 * error naming it and scored no further) → `score` → verdict: above `threshold` is fraud.
 */
export function fraudAdapter(threshold: number): ServingAdapter<TransactionRecord, FieldValues, FraudResult> {
  return fieldsAdapter<TransactionRecord, FraudResult>(
    { inputs: { [FRAUD_INPUT]: transactionFeatures }, outputs: [{ name: FRAUD_OUTPUT, width: 1 }] },
    (record, values, metadata) => {
      const score = values?.[FRAUD_OUTPUT]?.[0];
      if (metadata.errors !== '' || score === undefined) {
        return { inputRecord: record, score: null, threshold, verdict: 'error', modelResultMetadata: metadata };
      }
      if (Number.isNaN(score)) {
        return {
          inputRecord: record,
          score: null,
          threshold,
          verdict: 'error',
          modelResultMetadata: { ...metadata, errors: 'the model returned a score of NaN' },
        };
      }
      return { inputRecord: record, score, threshold, verdict: score > threshold ? 'fraud' : 'normal', modelResultMetadata: metadata };
    },
  );
}
