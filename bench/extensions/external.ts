/**
 * External serving through `sluice serve`, measured by bench/external.ts (the model server's
 * authors' module, on this harness's sessions): the recommender stream scored over Open
 * Inference REST and gRPC and TF Serving gRPC, batched (batch-size 512) and one request per
 * record (batch-size 1, the reference design), beside the embedded ONNX model in the same run.
 * This suite runs it and sets each row against its limits: the embedded model, and the same
 * protocol one request per record.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/util/package-root.js';
import type { Suite } from '../configurations.js';
import type { ExternalOptions, ExternalRow } from '../external.js';
import { fmt, ms, ratio, type Table } from '../report/table.js';

const modulePath = join(packageRoot(), 'bench', 'external.ts');

/** Latency as `p50 / p99 ms`, starred when some records had not arrived within the drain time. */
const latency = (p50: number | undefined, p99: number | undefined, sustained: boolean | undefined) =>
  p50 === undefined ? '–' : `${ms(p50)} / ${ms(p99)}${sustained === false ? ' *' : ''}`;

export function externalTable(rows: readonly ExternalRow[]): Table {
  const embedded = rows.find((r) => r.configuration.startsWith('embedded') && r.batchSize === 512)?.recordsPerSecond;
  const perRecord = (configuration: string) => rows.find((r) => r.configuration === configuration && r.batchSize === 1)?.recordsPerSecond;
  return {
    title: 'External serving through sluice serve (a child process), beside the embedded model, recommender stream, in the same run:',
    header: [
      'configuration',
      'batch-size',
      'records/s',
      '× embedded',
      '× per record',
      'records/request',
      'ms/request',
      'pipeline cores',
      'server cores',
      'p50 / p99 ms at half rate',
      'p50 / p99 ms at 10,000/s',
    ],
    rows: rows.map((r) => {
      const reference = perRecord(r.configuration);
      return [
        r.configuration,
        String(r.batchSize),
        fmt(r.recordsPerSecond),
        ratio(embedded === undefined ? undefined : r.recordsPerSecond / embedded),
        r.batchSize === 1 || reference === undefined ? '–' : ratio(r.recordsPerSecond / reference),
        fmt(r.meanBatch, 1),
        fmt(r.msPerCall, 3),
        fmt(r.pipelineCores, 2),
        fmt(r.serverCores, 2),
        `${latency(r.p50, r.p99, r.sustained)} (${fmt(r.halfRate)}/s)`,
        latency(r.p50At10k, r.p99At10k, r.sustainedAt10k),
      ];
    }),
    notes: [
      'records/s flat out through the pipeline; × embedded: over the embedded ONNX model at batch-size 512; × per record: over the same protocol',
      'at batch-size 1 (one request per record, the reference design); cores: CPU seconds per second of the pipeline process and of the server',
      'process; latency: creation → sink at half the flat-out rate, and at 10,000 records/s when flat out reached it (* not sustained).',
    ],
  };
}

export const externalSuite: Suite = {
  id: 'external',
  label: 'external serving through sluice serve: REST and gRPC, batched and per record',
  unavailable: async () => (existsSync(modulePath) ? undefined : 'bench/external.ts is not there'),
  async run({ quick, progress }) {
    const { externalBenchmark } = (await import(pathToFileURL(modulePath).href)) as { externalBenchmark: (options: ExternalOptions) => Promise<ExternalRow[]> };
    // One line per configuration, ended when the next one starts.
    let line = progress.step('external: sluice serve');
    line.update('starting');
    let ending = 'started';
    const rows = await externalBenchmark({
      quick,
      onProgress: (message) => {
        line.done(ending);
        ending = 'measured';
        line = progress.step(`external: ${message}`);
        line.update('measuring');
      },
    });
    line.done(`measured; ${rows.length} configurations in all`);
    return { tables: [externalTable(rows)], data: rows };
  },
};
