/**
 * The fault suite's bookkeeping: what each scenario sent, and where every record ended up.
 * A scenario passes only when nothing sent is missing and nothing appears twice where the
 * runtime promises it will not; its counts go to test-results/faults/ for the suite's report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FAULTS_DIRECTORY = join('test-results', 'faults');

export interface ScenarioOutcome {
  readonly scenario: string;
  readonly sent: number;
  /** Ids sent that are in no output and no dead letter. */
  readonly lost: number;
  /** Outputs beyond the first for an id, where the scenario promises none. */
  readonly duplicated: number;
  readonly deadLettered: number;
  /** Outputs that carry an error instead of a score (records kept, not lost). */
  readonly errorResults: number;
  readonly notes?: string;
}

/** Counts, per id sent, how often it came out: lost ids are missing, duplicates came out more than once. */
export function reconcile(
  sent: readonly string[],
  outputs: readonly string[],
  deadLettered: readonly string[],
): { lost: string[]; duplicated: string[]; unexpected: string[] } {
  const seen = new Map<string, number>();
  for (const id of [...outputs, ...deadLettered]) seen.set(id, (seen.get(id) ?? 0) + 1);
  const expected = new Set(sent);
  return {
    lost: sent.filter((id) => !seen.has(id)),
    duplicated: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
    unexpected: [...seen.keys()].filter((id) => !expected.has(id)),
  };
}

export function recordOutcome(outcome: ScenarioOutcome): void {
  mkdirSync(FAULTS_DIRECTORY, { recursive: true });
  const file = outcome.scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  writeFileSync(join(FAULTS_DIRECTORY, `${file}.json`), `${JSON.stringify(outcome, null, 2)}\n`);
}
