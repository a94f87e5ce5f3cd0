import { defineSchema, type AvroValue } from '../../core/schema.js';

/** What a retrain streamlet decided: the steps of one retrain, or why it did not happen. */
export const retrainOutcomes = ['STARTED', 'TRAINED', 'PUBLISHED', 'REJECTED', 'SKIPPED', 'FAILED'] as const;
/** Why a retrain was asked for: the schedule, a drift event, or no model serving yet. */
export const retrainTriggers = ['SCHEDULE', 'DRIFT', 'NO_MODEL'] as const;

const retrainDecision = {
  type: 'record',
  name: 'RetrainDecision',
  namespace: 'sluice.serving',
  doc: 'One decision of a retrain streamlet, as it logs it: a retrain started, trained, published or rejected, or a trigger skipped, with why.',
  fields: [
    { name: 'at', type: 'long', doc: 'When it was decided (ms since the epoch).' },
    { name: 'outcome', type: { type: 'enum', name: 'RetrainOutcome', symbols: retrainOutcomes } },
    { name: 'trigger', type: { type: 'enum', name: 'RetrainTrigger', symbols: retrainTriggers } },
    { name: 'reason', type: 'string', doc: 'Why it was skipped, rejected or failed; what triggered it otherwise.' },
    { name: 'modelName', type: ['null', 'string'], default: null, doc: 'The candidate, once it has a name.' },
    { name: 'currentModel', type: ['null', 'string'], default: null, doc: 'The model the candidate is compared with.' },
    { name: 'metric', type: 'string', doc: 'The measure compared on the held-out records: auc, accuracy, mae or mse.' },
    { name: 'candidateScore', type: ['null', 'double'], default: null },
    { name: 'currentScore', type: ['null', 'double'], default: null },
    { name: 'trainingRecords', type: 'int', doc: 'Feedback records the candidate learns from.' },
    { name: 'holdoutRecords', type: 'int', doc: 'Feedback records held out to compare the models on.' },
    { name: 'durationMs', type: ['null', 'double'], default: null, doc: 'Time since the retrain started.' },
  ],
} as const;

export const RetrainDecisionSchema = defineSchema(retrainDecision);
export type RetrainDecision = AvroValue<typeof retrainDecision>;
export type RetrainOutcome = RetrainDecision['outcome'];
export type RetrainTrigger = RetrainDecision['trigger'];
