/**
 * A held-out labelled set: records of the stream's own schema, each with the label(s) a good
 * model should predict for it. On disk it is a JSON-lines file, one `{"record": ..., "label": ...}`
 * per line, the record in the JSON form of the data schema (fields by name, defaults filling
 * gaps) and the label a number, a boolean (1/0), or a list of them (one per item of the record,
 * e.g. per product). Every problem names the file and line.
 */
import { readFile } from 'node:fs/promises';
import { fromJson } from '../../connectors/json.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';

export interface LabelledSet<Data> {
  /** Where the set comes from, for messages: a file path, or a name the application gives it. */
  readonly source: string;
  readonly records: readonly Data[];
  /** The labels of each record, in record order: one per prediction the model gives for it. */
  readonly labels: readonly (readonly number[])[];
}

/** A label as JSON gives it. */
export type LabelValue = number | boolean | readonly (number | boolean)[];

/** A set built in code; labels are checked as a file's would be. */
export function labelledSet<Data>(source: string, entries: readonly { readonly record: Data; readonly label: LabelValue }[]): LabelledSet<Data> {
  if (entries.length === 0) throw setError(source, 'the set is empty');
  return {
    source,
    records: entries.map((e) => e.record),
    labels: entries.map((e, i) => labelsOf(e.label, () => `entry ${i + 1}`, source)),
  };
}

/** Reads a JSON-lines labelled set; blank lines are skipped. */
export async function readLabelledSet<Data>(path: string, schema: Schema<Data>): Promise<LabelledSet<Data>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw setError(path, `cannot read it: ${messageOf(err)}`, err);
  }
  const records: Data[] = [];
  const labels: (readonly number[])[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch (err) {
      throw setError(path, `${where} is not JSON: ${messageOf(err)}`, err);
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || !('record' in entry) || !('label' in entry)) {
      throw setError(path, `${where} must be an object {"record": ..., "label": ...}, got ${preview(line)}`);
    }
    const { record, label } = entry as { record: unknown; label: unknown };
    try {
      records.push(fromJson(schema, record, `${path} ${where}`));
    } catch (err) {
      throw setError(path, `${where}: the record does not fit the data schema: ${messageOf(err)}`, err);
    }
    labels.push(labelsOf(label, () => where, path));
  }
  if (records.length === 0) throw setError(path, 'the set is empty: it has no labelled records');
  return { source: path, records, labels };
}

function labelsOf(label: unknown, where: () => string, source: string): readonly number[] {
  const one = (value: unknown): number | undefined =>
    typeof value === 'boolean' ? Number(value) : typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  const single = one(label);
  if (single !== undefined) return [single];
  if (Array.isArray(label)) {
    const values = label.map(one);
    if (values.every((v) => v !== undefined)) return values as number[];
  }
  throw setError(source, `${where()}: the label must be a number, a boolean or a list of them, got ${preview(JSON.stringify(label) ?? String(label))}`);
}

function setError(source: string, message: string, cause?: unknown): SluiceError<'SLUICE_ERR_VALIDATION_SET'> {
  return new SluiceError('SLUICE_ERR_VALIDATION_SET', { source, message }, cause === undefined ? undefined : { cause });
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
