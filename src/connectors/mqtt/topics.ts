/**
 * MQTT topic rules, checked before the broker sees them: a bad filter in config is a config
 * error at start, and a bad topic computed for a record is that record's problem, not a reason
 * for the broker to drop the connection.
 */
import { SluiceError } from '../../core/errors.js';

const MAX_TOPIC_BYTES = 65_535;

/** Why `filter` is not a valid subscription filter, or undefined. */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter === '') return 'is empty';
  if (Buffer.byteLength(filter) > MAX_TOPIC_BYTES) return `is longer than ${MAX_TOPIC_BYTES} bytes`;
  if (filter.includes('\u0000')) return 'contains a NUL character';
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level === '#' && i !== levels.length - 1) return "uses '#' before the last level";
    if (level !== '+' && level !== '#' && /[+#]/.test(level))
      return `has '+' or '#' inside the level ${JSON.stringify(level)} (a wildcard must be a whole level)`;
  }
  return undefined;
}

/** Why `topic` cannot be published to, or undefined. */
export function topicNameProblem(topic: string): string | undefined {
  if (topic === '') return 'the topic is empty';
  if (/[+#]/.test(topic)) return `the topic ${JSON.stringify(topic)} contains a wildcard ('+' or '#')`;
  if (topic.includes('\u0000')) return `the topic ${JSON.stringify(topic)} contains a NUL character`;
  if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return `the topic is longer than ${MAX_TOPIC_BYTES} bytes`;
  return undefined;
}

/** Parses the comma-separated `topics` config value; throws SLUICE_ERR_CONFIG_INVALID naming the bad filter. */
export function parseTopicFilters(raw: string, key: string): readonly string[] {
  const filters = raw
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  if (filters.length === 0) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: key, message: 'names no topic filter (e.g. sensors/+/temperature)' });
  for (const filter of filters) {
    const problem = topicFilterProblem(filter);
    if (problem) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: key, message: `topic filter ${JSON.stringify(filter)} ${problem}` });
  }
  return filters;
}
