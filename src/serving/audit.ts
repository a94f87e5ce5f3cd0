import { defineSchema, type AvroValue } from '../core/schema.js';
import type { ModelResultMetadata } from './result-metadata.js';

/**
 * A request/response log entry, as Seldon's request logger writes: a sample of scored records
 * with their input, output and how they were scored, on model-serving's `audit` outlet and so to
 * any egress. The model is identified by its name and by when it was installed (`modelSince`),
 * which tells two installs of the same name apart.
 */
const auditRecord = {
  type: 'record',
  name: 'ScoringAudit',
  namespace: 'sluice.serving',
  fields: [
    { name: 'streamlet', type: 'string' },
    { name: 'timestamp', type: 'long', doc: 'When the result was emitted (ms since the epoch).' },
    { name: 'modelName', type: 'string' },
    { name: 'modelSince', type: 'long', doc: 'When the scoring model was installed (ms since the epoch); 0 without a model.' },
    { name: 'source', type: 'string' },
    { name: 'durationMs', type: 'double' },
    { name: 'errors', type: 'string' },
    { name: 'input', type: 'string', doc: 'The scored record, as JSON.' },
    { name: 'output', type: 'string', doc: 'The emitted result, as JSON.' },
  ],
} as const;

export const ScoringAuditSchema = defineSchema(auditRecord);
export type ScoringAudit = AvroValue<typeof auditRecord>;

/** Picks about `rate` of the records (0: none, 1: all), spread evenly rather than at random, so runs repeat. */
export class AuditSampler {
  /** Records seen so far: record n is picked when it brings ⌊n·rate⌋ up by one (summing the rate as floats would drift). */
  private seen = 0;

  constructor(
    private readonly streamlet: string,
    private readonly rate: number,
  ) {}

  sample<Record, Result>(records: readonly Record[], results: readonly Result[], metadata: readonly ModelResultMetadata[]): ScoringAudit[] {
    if (this.rate <= 0) return [];
    const picked: ScoringAudit[] = [];
    const now = Date.now();
    for (let i = 0; i < records.length; i++) {
      const n = this.seen++;
      if (Math.floor((n + 1) * this.rate) === Math.floor(n * this.rate)) continue;
      const meta = metadata[i] as ModelResultMetadata;
      picked.push({
        streamlet: this.streamlet,
        timestamp: now,
        modelName: meta.modelName,
        modelSince: meta.startTime,
        source: meta.source,
        durationMs: meta.duration,
        errors: meta.errors,
        input: toJson(records[i]),
        output: toJson(results[i]),
      });
    }
    return picked;
  }
}

function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'bigint' ? v.toString() : v));
}
