/**
 * Global setup of the fault suite: clears the last run's outcomes before, and after the run
 * prints and writes (test-results/faults-report.md) one table of every scenario's counts.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULTS_DIRECTORY, type ScenarioOutcome } from './ledger.js';

export function setup(): () => void {
  rmSync(FAULTS_DIRECTORY, { recursive: true, force: true });
  return () => {
    const outcomes = existsSync(FAULTS_DIRECTORY)
      ? readdirSync(FAULTS_DIRECTORY)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => JSON.parse(readFileSync(join(FAULTS_DIRECTORY, f), 'utf8')) as ScenarioOutcome)
      : [];
    const header = ['scenario', 'sent', 'lost', 'duplicated', 'dead-lettered', 'error results', 'notes'];
    const rows = outcomes.map((o) => [o.scenario, o.sent, o.lost, o.duplicated, o.deadLettered, o.errorResults, o.notes ?? ''].map(String));
    const total = (key: 'sent' | 'lost' | 'duplicated' | 'deadLettered' | 'errorResults') => outcomes.reduce((sum, o) => sum + o[key], 0);
    rows.push(['total', total('sent'), total('lost'), total('duplicated'), total('deadLettered'), total('errorResults'), ''].map(String));
    const table = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
    const text = `# Fault-injection report\n\n${new Date().toISOString()}: ${outcomes.length} scenarios\n\n${table}\n`;
    writeFileSync(join('test-results', 'faults-report.md'), text);
    console.log(`\n${text}`);
  };
}
