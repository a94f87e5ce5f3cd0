import { outlet, type StreamletPackage } from '../../src/core/streamlet.js';
import { driftDetector } from '../../src/observe/drift/detector.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import { modelServing } from '../../src/serving/model-serving.js';
import { denseClassifierTrainer } from '../../src/serving/retrain/dense-classifier.js';
import { retrainer } from '../../src/serving/retrain/retrainer.js';
import { driftAdapter } from './adapter.js';
import { withDefaults } from './defaults.js';
import { Generator } from './generator.js';
import { qualityMonitor } from './quality-monitor.js';
import { DriftRecordSchema, DriftResultSchema, LabelledRecordSchema } from './schemas.js';
import { DRIFT_FEATURES } from './world.js';

/**
 * Where the retrain streamlet writes the held-out records of each model it publishes, and where
 * model-serving's validation gate reads them to check that model again (relative to the working
 * directory: inside the default state directory of drift.conf).
 */
export const HOLDOUT_FILE = '.sluice/drift/holdout.jsonl';

const executors = defaultExecutors();

/** Scores records with the newest model; its validation gate checks every update on the retrain's held-out records (AUC at least 0.75). */
export const ModelServing = withDefaults(
  modelServing({
    description: 'Scores records with the model most recently published by the retrain streamlet, once it passes the validation gate',
    data: DriftRecordSchema,
    result: outlet(DriftResultSchema, (r) => String(r.inputRecord.id)),
    adapter: driftAdapter,
    executors,
  }),
  { 'validation-set': HOLDOUT_FILE, 'validation-min-auc': 0.75 },
);

/** Watches the inputs and the scores of the results against a reference captured after each model update. */
export const DriftDetector = withDefaults(
  driftDetector({
    data: DriftResultSchema,
    features: {
      x1: { kind: 'numeric', value: (r) => r.inputRecord.x1 },
      x2: { kind: 'numeric', value: (r) => r.inputRecord.x2 },
      x3: { kind: 'numeric', value: (r) => r.inputRecord.x3 },
      x4: { kind: 'numeric', value: (r) => r.inputRecord.x4 },
      score: { kind: 'numeric', value: (r) => r.score },
    },
    modelUpdates: true,
  }),
  // The shift here is large (p ≈ 1e-20 in the first window after it): a low false-alarm rate costs no delay.
  { emit: 'drifted', significance: 0.001 },
);

/** Learns from the delayed labels: a first model as soon as there are enough, a new one when drift is detected. */
export const Retrain = withDefaults(
  retrainer({
    feedback: LabelledRecordSchema,
    data: DriftRecordSchema,
    example: (labelled) => ({ record: labelled.record, label: labelled.label }),
    adapter: driftAdapter,
    executors,
    trainer: denseClassifierTrainer({ features: DRIFT_FEATURES }),
    drift: true,
  }),
  { 'model-name': 'drift-model', 'min-samples': 1_000, 'window-size': 4_000, cooldown: 5_000, 'label-delay': 1_000, 'holdout-file': HOLDOUT_FILE },
);

export const QualityMonitor = qualityMonitor();

/** The drift example's streamlet classes, as blueprints name them: `drift.<Class>`. */
const streamlets: StreamletPackage = { Generator, ModelServing, DriftDetector, Retrain, QualityMonitor };
export default streamlets;
export { Generator };
