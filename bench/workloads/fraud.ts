/**
 * The fraud example: card transactions of 29 numbers scored by the trained autoencoder
 * (29→14→7→14→29, reconstruction error out), the ONNX file `npm run models` trains into
 * examples/fraud/models/. Without that file, the same network is trained briefly here: the
 * weights do not change what a call costs.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_THRESHOLD, fraudAdapter } from '../../examples/fraud/adapter.js';
import { TransactionGenerator } from '../../examples/fraud/generator.js';
import { fraudModelServing } from '../../examples/fraud/model-serving.js';
import { buildFraudOnnx, FRAUD_MODEL_NAME, trainFraudAutoencoder } from '../../examples/fraud/models/train.js';
import { FraudResultSchema, TransactionRecordSchema, type FraudResult, type TransactionRecord } from '../../examples/fraud/schemas.js';
import { packageRoot } from '../../src/util/package-root.js';
import { modelAsData, type Workload } from './workload.js';

/** Distinct transactions; record k is transaction k mod POOL. Few enough that their boxed doubles do not weigh on garbage collection. */
const POOL = 8_192;

async function onnxModel() {
  const file = join(packageRoot(), 'examples', 'fraud', 'models', `${FRAUD_MODEL_NAME}.onnx`);
  if (existsSync(file)) return modelAsData(FRAUD_MODEL_NAME, 'the trained fraud autoencoder of examples/fraud/models', 'ONNX', await readFile(file));
  const { autoencoder } = await trainFraudAutoencoder({ samples: 2_000, validationSamples: 1_000, epochs: 2 });
  return modelAsData(FRAUD_MODEL_NAME, 'the fraud autoencoder, briefly trained by the bench', 'ONNX', buildFraudOnnx(autoencoder));
}

/**
 * A copy of `t` with the id `id`, as one object literal: an object spread or a loop over the
 * field names costs ten times more, and took half the pipeline's time in a profile.
 */
const withId = (t: TransactionRecord, id: number): TransactionRecord => ({
  id,
  v1: t.v1,
  v2: t.v2,
  v3: t.v3,
  v4: t.v4,
  v5: t.v5,
  v6: t.v6,
  v7: t.v7,
  v8: t.v8,
  v9: t.v9,
  v10: t.v10,
  v11: t.v11,
  v12: t.v12,
  v13: t.v13,
  v14: t.v14,
  v15: t.v15,
  v16: t.v16,
  v17: t.v17,
  v18: t.v18,
  v19: t.v19,
  v20: t.v20,
  v21: t.v21,
  v22: t.v22,
  v23: t.v23,
  v24: t.v24,
  v25: t.v25,
  v26: t.v26,
  v27: t.v27,
  v28: t.v28,
  amount: t.amount,
  label: t.label,
});

export function fraudWorkload(): Workload<TransactionRecord, FraudResult> {
  // No missing fields: every record reaches the model, in the pipeline as in the raw calls.
  const generator = new TransactionGenerator({ seed: 42, missingFraction: 0, firstId: 0 });
  const pool = Array.from({ length: POOL }, () => generator.next());
  return {
    id: 'fraud',
    label: 'fraud: a card transaction of 29 numbers per record, one model row',
    data: TransactionRecordSchema,
    result: FraudResultSchema,
    serving: fraudModelServing(),
    adapter: fraudAdapter(DEFAULT_THRESHOLD),
    record: (k) => withId(pool[k % POOL] as TransactionRecord, k),
    indexOf: (result) => result.inputRecord.id,
    scored: (result) => result.modelResultMetadata.errors === '',
    rows: (records) => records.length,
    rawPool: POOL,
    models: { onnx: onnxModel },
  };
}
