import { defineSchema, type AvroValue } from '../../core/schema.js';

export const explanationMethods = ['kernel-shap', 'occlusion', 'integrated-gradients'] as const;
export type ExplanationMethod = (typeof explanationMethods)[number];

const methodSymbols = ['KERNEL_SHAP', 'OCCLUSION', 'INTEGRATED_GRADIENTS'] as const;

/** Per-feature attributions of one model output for one record, on an explainer's `explanations` outlet. */
const explanation = {
  type: 'record',
  name: 'Explanation',
  namespace: 'sluice.observe',
  doc: 'Why the model gave one record its output: one attribution per feature, relative to a base value.',
  fields: [
    { name: 'modelName', type: 'string' },
    { name: 'modelSince', type: 'long', doc: 'When the explainer installed this model (ms since the epoch): tells two installs of one name apart.' },
    { name: 'key', type: 'string', doc: 'Identifies the record (the key function of the explainer).' },
    { name: 'method', type: { type: 'enum', name: 'ExplanationMethod', symbols: methodSymbols } },
    { name: 'output', type: 'string', doc: 'The explained output value, as tensor[index], e.g. score[0].' },
    { name: 'features', type: { type: 'array', items: 'string' } },
    { name: 'values', type: { type: 'array', items: 'double' }, doc: "The record's feature values, in feature order." },
    { name: 'attributions', type: { type: 'array', items: 'double' }, doc: 'Each feature’s share of prediction − baseValue, in feature order.' },
    {
      name: 'baseValue',
      type: 'double',
      doc: 'KERNEL_SHAP: the mean output over the background; OCCLUSION, INTEGRATED_GRADIENTS: the output at the baseline (the background mean).',
    },
    { name: 'prediction', type: 'double', doc: "The model's output for the record." },
    { name: 'evaluations', type: 'long', doc: 'Rows the model scored for this explanation.' },
    { name: 'timestamp', type: 'long', doc: 'When the explanation was made (ms since the epoch).' },
  ],
} as const;

export const ExplanationSchema = defineSchema(explanation);
export type Explanation = AvroValue<typeof explanation>;

export function methodSymbol(method: ExplanationMethod): Explanation['method'] {
  return methodSymbols[explanationMethods.indexOf(method)] as Explanation['method'];
}
