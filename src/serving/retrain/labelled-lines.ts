import { stringifyJson } from '../../connectors/json.js';
import type { TrainingSet } from './trainer.js';

/**
 * Labelled records as JSON lines, one `{"record": ..., "label": ...}` per line with the record in
 * its JSON form: the format the validation gate reads (`readLabelledSet`) and external trainers get.
 */
export function labelledJsonLines<Data>(set: TrainingSet<Data>): string {
  return set.records.map((record, i) => `{"record":${stringifyJson(record)},"label":${set.labels[i]}}\n`).join('');
}
