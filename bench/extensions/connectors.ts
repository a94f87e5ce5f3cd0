/**
 * The connector benchmarks: every bench/connectors/<name>.ts present, each exporting a
 * `ConnectorBenchmark` (bench/connectors/measurement.ts), run one after the other against the
 * services on this machine. Each measures its connector beside the service's own client doing
 * the same transfer in the same run; this suite prints them in one table.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/util/package-root.js';
import type { Suite } from '../configurations.js';
import type { ConnectorBenchmark, ConnectorMeasurement } from '../connectors/measurement.js';
import { fmt, ratio, type Table } from '../report/table.js';

const directory = join(packageRoot(), 'bench', 'connectors');

async function benchmarkFiles(): Promise<string[]> {
  const files = await readdir(directory).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.ts') && !f.startsWith('.') && f !== 'measurement.ts').sort();
}

/** The module's exported functions named `<something>Benchmark`: its ConnectorBenchmarks. */
function benchmarksOf(module: Readonly<Record<string, unknown>>): [string, ConnectorBenchmark][] {
  return Object.entries(module).filter((entry): entry is [string, ConnectorBenchmark] => entry[0].endsWith('Benchmark') && typeof entry[1] === 'function');
}

function withTimeout<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took more than ${seconds} s`)), seconds * 1000))),
  ]).finally(() => clearTimeout(timer));
}

interface Outcome {
  readonly file: string;
  readonly measurements: readonly ConnectorMeasurement[];
  readonly error?: string;
}

export const connectorsSuite: Suite = {
  id: 'connectors',
  label: 'connectors: each connector beside its service’s own client',
  unavailable: async () => ((await benchmarkFiles()).length === 0 ? `no benchmark in ${directory}` : undefined),
  async run({ quick, progress }) {
    const records = quick ? 2_000 : 20_000;
    const outcomes: Outcome[] = [];
    for (const file of await benchmarkFiles()) {
      const line = progress.step(`connectors: ${file}`);
      line.update(`${fmt(records)} records`);
      try {
        const module = (await import(pathToFileURL(join(directory, file)).href)) as Readonly<Record<string, unknown>>;
        const measurements: ConnectorMeasurement[] = [];
        for (const [name, benchmark] of benchmarksOf(module)) {
          measurements.push(...(await withTimeout(benchmark({ records }), quick ? 60 : 180, `${file} ${name}`)));
        }
        outcomes.push({ file, measurements });
        line.done(
          measurements.map((m) => `${m.id} ${fmt(m.connector)} records/s (${ratio(m.connector / m.raw)} of raw)`).join(', ') ||
            'no ConnectorBenchmark exported',
        );
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        outcomes.push({ file, measurements: [], error });
        line.done(`failed: ${error}`);
      }
    }
    const table: Table = {
      title: `Connectors (${fmt(records)} records each; the raw client does the same transfer with the same guarantee, in the same run):`,
      header: ['connector', 'records', 'connector rec/s', 'raw client rec/s', 'connector/raw', 'raw client'],
      rows: outcomes.flatMap((o) =>
        o.error !== undefined
          ? [[o.file, '–', '–', '–', '–', `failed: ${o.error}`]]
          : o.measurements.map((m) => [m.label, fmt(m.records), fmt(m.connector), fmt(m.raw), ratio(m.connector / m.raw), m.rawLabel]),
      ),
    };
    return { tables: [table], data: outcomes };
  },
};
