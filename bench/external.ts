/**
 * External serving, measured through the pipeline: the recommender stream scored by
 * model-serving calling `sluice serve` over Open Inference REST and gRPC and TensorFlow Serving
 * gRPC (the reference's protocol), batched (batch-size 512: one request per batch of records)
 * and per record (batch-size 1: the reference design, one request per record), beside the
 * embedded ONNX model in the same run.
 *
 * `sluice serve` runs in a child process (the CLI from source, through tsx), as it would beside
 * a pipeline: its CPU is its own, reported from its /metrics, and the pipeline's process does
 * only the pipeline's work. Each configuration is the bench's Crayfish session
 * (bench/harness/session.ts): flat out for records/s, then paced at half that rate for latency
 * (creation → sink, coordinated-omission safe).
 *
 *   npx tsx bench/external.ts [--quick] [--configurations=grpc,rest] [--batch-sizes=512] [--aim-repeats=3]
 *                                           prints the rows as a table
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { layoutRepository } from '../examples/recommender/serve/layout-repository.js';
import type { ModelDescriptor } from '../src/serving/descriptor.js';
import { packageRoot } from '../src/util/package-root.js';
import { median } from './harness/quantiles.js';
import { ServingSession } from './harness/session.js';
import { recommenderWorkload } from './workloads/recommender.js';

export interface ExternalRow {
  /** e.g. `Open Inference gRPC`, or `embedded ONNX` for the in-process reference. */
  readonly configuration: string;
  /** model-serving.batch-size: 512 (batched) or 1 (one request per record). */
  readonly batchSize: number;
  /** Flat out, through the pipeline. */
  readonly recordsPerSecond: number;
  /** Records per request (per model call for the embedded model). */
  readonly meanBatch: number;
  /** Mean wall time of one call as model-serving measures it (request out → answer in), ms. */
  readonly msPerCall: number;
  /** CPU of the pipeline's process and of the server's, in cores, while flat out. */
  readonly pipelineCores: number;
  readonly serverCores: number;
  /** Paced at half the flat-out rate: the rate, and latency creation → sink (ms). */
  readonly halfRate: number;
  readonly p50: number;
  readonly p99: number;
  /** Every record of the paced phase arrived within the drain time (the rate was sustained). */
  readonly sustained: boolean;
  /** Paced at the issue's aim, 10,000 records/s (half of 20,000), when flat out reached it: latency (ms). */
  readonly p50At10k: number | undefined;
  readonly p99At10k: number | undefined;
  readonly sustainedAt10k: boolean | undefined;
}

export interface ExternalOptions {
  /** Short phases (a few seconds each) for a quick look. */
  readonly quick: boolean;
  /** Called as each configuration starts and ends. */
  readonly onProgress?: (message: string) => void;
  /** Only these configurations (by name, case-insensitive substring) and batch sizes; default all. */
  readonly configurations?: readonly string[];
  readonly batchSizes?: readonly number[];
  /** Paced phases at 10,000/s per configuration (the median of their p50 and p99 is reported); default 1. */
  readonly aimRepeats?: number;
}

/** Latency is also measured at this rate: half the issue's aim of 20,000 records/s batched. */
const aimRate = 10_000;

const declared = 'inputs=users:float32[?,1],products:float32[?,1]&outputs=predictions:float32[?,1]';

/** The configurations: how model-serving reaches the model. `timeout=10s`: a loaded 2-core machine must not turn slow answers into errors. */
const configurations: readonly { readonly name: string; readonly descriptor: (urls: ServerUrls) => ModelDescriptor | Promise<ModelDescriptor> }[] = [
  { name: 'embedded ONNX', descriptor: async () => (await recommenderWorkload().models.onnx?.()) as ModelDescriptor },
  { name: 'Open Inference REST', descriptor: (urls) => remote('OPEN_INFERENCE', `${urls.http}/recommender?timeout=10s`) },
  { name: 'Open Inference gRPC', descriptor: (urls) => remote('OPEN_INFERENCE', `grpc://${urls.grpc}/recommender?timeout=10s`) },
  { name: 'TF Serving gRPC', descriptor: (urls) => remote('TENSORFLOW_SERVING', `grpc://${urls.grpc}/recommender?timeout=10s&${declared}`) },
];

function remote(modelType: ModelDescriptor['modelType'], location: string): ModelDescriptor {
  return { modelName: 'recommender-served', description: `the recommender on ${location}`, modelType, modelBytes: null, modelSourceLocation: location };
}

interface ServerUrls {
  readonly http: string;
  readonly grpc: string;
}

export async function externalBenchmark(options: ExternalOptions): Promise<ExternalRow[]> {
  const seconds = options.quick ? 3 : 8;
  const repository = await mkdtemp(join(tmpdir(), 'sluice-bench-models-'));
  const server = await ServerProcess.start(repository);
  const rows: ExternalRow[] = [];
  try {
    for (const batchSize of options.batchSizes ?? [512, 1]) {
      for (const configuration of configurations) {
        const wanted = options.configurations;
        if (wanted && !wanted.some((w) => configuration.name.toLowerCase().includes(w.toLowerCase()))) continue;
        // The embedded model one record at a time is the embedded bench's business, not this one's.
        if (batchSize === 1 && configuration.name.startsWith('embedded')) continue;
        options.onProgress?.(`${configuration.name}, batch-size ${batchSize}`);
        const session = await ServingSession.start({
          workload: recommenderWorkload(),
          model: await configuration.descriptor(server.urls),
          batchSize,
          batchWait: 0,
        });
        try {
          const cpuBefore = await server.cpuSeconds();
          const startedAt = performance.now();
          const flat = await session.flatOut({ seconds, warmupSeconds: options.quick ? 1 : 2 });
          const serverCores = ((await server.cpuSeconds()) - cpuBefore) / ((performance.now() - startedAt) / 1000);
          const recordsPerSecond = flat.records / flat.seconds;
          const halfRate = Math.max(1, Math.round(recordsPerSecond / 2));
          const pace = (rate: number) => session.paced({ rate, seconds, warmupShare: 0.2, drainSeconds: 10 });
          const half = await pace(halfRate);
          const aims: Awaited<ReturnType<typeof pace>>[] = [];
          for (let i = 0; recordsPerSecond >= aimRate && i < (options.aimRepeats ?? 1); i++) aims.push(await pace(aimRate));
          if (aims.length > 1) options.onProgress?.(`  at 10k/s p50/p99 ms: ${aims.map((a) => `${a.latency.p50.toFixed(2)}/${a.latency.p99.toFixed(2)}`).join('  ')}`);
          const aim = aims.length === 0 ? undefined : { p50: median(aims.map((a) => a.latency.p50)), p99: median(aims.map((a) => a.latency.p99)), complete: aims.every((a) => a.complete) };
          rows.push({
            configuration: configuration.name,
            batchSize,
            recordsPerSecond,
            meanBatch: flat.meanBatch,
            msPerCall: flat.msPerCall,
            pipelineCores: flat.cpuSeconds / flat.seconds,
            serverCores: configuration.name.startsWith('embedded') ? 0 : serverCores,
            halfRate,
            p50: half.latency.p50,
            p99: half.latency.p99,
            sustained: half.complete,
            p50At10k: aim?.p50,
            p99At10k: aim?.p99,
            sustainedAt10k: aim?.complete,
          });
        } finally {
          await session.stop();
        }
      }
    }
  } finally {
    await server.stop();
    await rm(repository, { recursive: true, force: true });
  }
  return rows;
}

/** `sluice serve` in a child process, on free ports, serving the recommender example's repository. */
class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly urls: ServerUrls,
  ) {}

  static async start(repository: string): Promise<ServerProcess> {
    await layoutRepository(repository).catch((err: unknown) => {
      throw new Error(`cannot lay out the model repository (build the example's models first: npm run models): ${String(err)}`);
    });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', '--models', repository, '--http-port', '0', '--grpc-port', '0', '--quiet'],
      { cwd: packageRoot(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    const urls = await new Promise<ServerUrls>((resolve, reject) => {
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const found = /REST and \/metrics at (http:\/\/[\d.:]+), gRPC at ([\d.:]+)/.exec(stderr);
        if (found) resolve({ http: found[1] as string, grpc: found[2] as string });
      });
      child.once('exit', (code) => reject(new Error(`sluice serve exited (${code}) before listening:\n${stderr.slice(-2000)}`)));
    });
    return new ServerProcess(child, urls);
  }

  /** The server process's CPU seconds so far, from its /metrics. */
  async cpuSeconds(): Promise<number> {
    const text = await (await fetch(`${this.urls.http}/metrics`)).text();
    const line = /^sluice_process_cpu_seconds_total (\S+)$/m.exec(text);
    return line ? Number(line[1]) : Number.NaN;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

function table(rows: readonly ExternalRow[]): string {
  const header = [
    'configuration',
    'batch',
    'records/s',
    'ratio',
    'records/request',
    'ms/request',
    'pipeline cores',
    'server cores',
    'at records/s',
    'p50 ms',
    'p99 ms',
    'p50 at 10k/s',
    'p99 at 10k/s',
  ];
  const ms = (value: number | undefined, sustained: boolean | undefined) => (value === undefined ? '–' : `${value.toFixed(2)}${sustained ? '' : '*'}`);
  const reference = (batch: number, name: string) => rows.find((r) => r.batchSize === batch && r.configuration === name)?.recordsPerSecond ?? Number.NaN;
  const lines = rows.map((r) => [
    r.configuration,
    String(r.batchSize),
    r.recordsPerSecond.toFixed(0),
    // Against the reference design on the same protocol: one request per record.
    r.batchSize === 1 ? '1.0' : Number.isNaN(reference(1, r.configuration)) ? '–' : (r.recordsPerSecond / reference(1, r.configuration)).toFixed(1),
    r.meanBatch.toFixed(1),
    r.msPerCall.toFixed(3),
    r.pipelineCores.toFixed(2),
    r.serverCores.toFixed(2),
    String(r.halfRate),
    ms(r.p50, r.sustained),
    ms(r.p99, r.sustained),
    ms(r.p50At10k, r.sustainedAt10k),
    ms(r.p99At10k, r.sustainedAt10k),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [format(header), ...lines.map(format), '* not sustained: some records had not arrived 10 s after the phase'].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  if (args[0] === '--serve') {
    // The child: the real `sluice serve` command, from source.
    const { main } = await import('../src/cli/main.js');
    process.exitCode = await main(['serve', ...args.slice(1)], { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  } else {
    const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    const rows = await externalBenchmark({
      quick: args.includes('--quick'),
      onProgress: (m) => process.stderr.write(`external: ${m}\n`),
      configurations: value('configurations')?.split(','),
      batchSizes: value('batch-sizes')?.split(',').map(Number),
      aimRepeats: value('aim-repeats') === undefined ? undefined : Number(value('aim-repeats')),
    });
    process.stdout.write(`${table(rows)}\n`);
  }
}
