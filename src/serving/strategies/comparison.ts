/**
 * What a shadow candidate's scoring produces: one record, answered by the model serving on `out`
 * and by the shadow, side by side, on model-serving's `shadow` outlet (never on `out`).
 */
import { stringifyJson } from '../../connectors/json.js';
import { defineSchema, type AvroValue } from '../../core/schema.js';
import type { ModelResultMetadata } from '../result-metadata.js';

const comparisonRecord = {
  type: 'record',
  name: 'ComparisonRecord',
  namespace: 'sluice.serving',
  doc: 'One record scored by the serving model and by a shadow candidate, side by side.',
  fields: [
    { name: 'streamlet', type: 'string' },
    { name: 'timestamp', type: 'long', doc: 'When the comparison was made (ms since the epoch).' },
    { name: 'key', type: 'string', doc: "The record's key, as canary routing and out's partitioning see it." },
    { name: 'primaryModel', type: 'string', doc: 'The model whose result went to out; empty when no model served.' },
    { name: 'primaryOutput', type: ['null', 'string'], default: null, doc: 'Its output, as JSON; null when it gave none (primaryErrors says why).' },
    { name: 'primaryErrors', type: 'string' },
    { name: 'primaryDurationMs', type: 'double' },
    { name: 'shadowModel', type: 'string' },
    { name: 'shadowSince', type: 'long', doc: 'When the shadow was installed (ms since the epoch).' },
    { name: 'shadowOutput', type: ['null', 'string'], default: null, doc: "The shadow's output, as JSON; null when it gave none (shadowErrors says why)." },
    { name: 'shadowErrors', type: 'string' },
    { name: 'shadowDurationMs', type: 'double' },
    {
      name: 'agreement',
      type: ['null', 'boolean'],
      default: null,
      doc: 'True when both put every prediction on the same side of decision-threshold; null when either gave no output.',
    },
    {
      name: 'difference',
      type: ['null', 'double'],
      default: null,
      doc: 'The largest absolute difference between their predictions; null when either gave no output or they differ in count.',
    },
  ],
} as const;

export const ComparisonRecordSchema = defineSchema(comparisonRecord);
export type ComparisonRecord = AvroValue<typeof comparisonRecord>;

/** One side of a comparison: what a model answered for the record. */
export interface Answer {
  readonly output: unknown;
  readonly predictions: readonly number[] | undefined;
  readonly metadata: ModelResultMetadata;
}

export function compare(streamlet: string, key: string, primary: Answer, shadow: Answer & { readonly since: number }, threshold: number): ComparisonRecord {
  const both = primary.output !== undefined && shadow.output !== undefined;
  const p = primary.predictions;
  const s = shadow.predictions;
  const comparable = both && p !== undefined && s !== undefined;
  const sameCount = comparable && p.length === s.length;
  return {
    streamlet,
    timestamp: Date.now(),
    key,
    primaryModel: primary.metadata.modelName,
    primaryOutput: primary.output === undefined ? null : stringifyJson(primary.output),
    primaryErrors: primary.metadata.errors,
    primaryDurationMs: primary.metadata.duration,
    shadowModel: shadow.metadata.modelName,
    shadowSince: shadow.since,
    shadowOutput: shadow.output === undefined ? null : stringifyJson(shadow.output),
    shadowErrors: shadow.metadata.errors,
    shadowDurationMs: shadow.metadata.duration,
    agreement: comparable ? sameCount && p.every((v, i) => v >= threshold === (s[i] as number) >= threshold) : null,
    difference: sameCount ? p.reduce((largest, v, i) => Math.max(largest, Math.abs(v - (s[i] as number))), 0) : null,
  };
}
