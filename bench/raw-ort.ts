/**
 * The limit: the recommender model called directly through onnxruntime-node, with the session
 * options Sluice's ONNX executor uses, on the batches the pipeline forms (consecutive runs of
 * `batchSize` records from the DataIngress generator). The tensors are built before timing:
 * this is what onnxruntime itself can do, nothing else.
 */
import { performance } from 'node:perf_hooks';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { RecommenderRecord } from '../examples/recommender/schemas.js';
import { rowsOf } from './records.js';

/** The options of `createOnnxExecutor()` (src/serving/executors/onnx.ts). */
export const executorSessionOptions: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 4,
};

export interface Measurement {
  readonly records: number;
  readonly rows: number;
  /** Model calls in the timed window. */
  readonly calls: number;
  readonly seconds: number;
  /** Process CPU seconds (user + system, every thread) in the timed window. */
  readonly cpuSeconds: number;
}

type Feeds = Record<string, Tensor>;

function feedsOf(records: readonly RecommenderRecord[]): Feeds {
  const rows = rowsOf(records);
  const users = new Float32Array(rows);
  const products = new Float32Array(rows);
  let row = 0;
  for (const record of records) {
    for (const product of record.products) {
      users[row] = record.user;
      products[row++] = product;
    }
  }
  return { users: new Tensor('float32', users, [rows, 1]), products: new Tensor('float32', products, [rows, 1]) };
}

export async function openSession(model: Uint8Array): Promise<InferenceSession> {
  return InferenceSession.create(model, executorSessionOptions);
}

interface Batch extends TimedBatch {
  readonly feeds: Feeds;
}

/** The pool cut into consecutive batches of `batchSize` records, tensors built. */
export function batchesOf(pool: readonly RecommenderRecord[], batchSize: number): Batch[] {
  const batches: Batch[] = [];
  for (let from = 0; from + batchSize <= pool.length; from += batchSize) {
    const batch = pool.slice(from, from + batchSize);
    batches.push({ feeds: feedsOf(batch), records: batch.length, rows: rowsOf(batch) });
  }
  return batches;
}

/** A batch and its size, whatever carries its tensors. */
export interface TimedBatch {
  readonly records: number;
  readonly rows: number;
}

/**
 * Runs `warmup` records' worth of batches untimed (JIT, allocator, caches), then times
 * `records` records' worth, cycling through `batches` (built once, before timing).
 */
export async function measureCalls<B extends TimedBatch>(
  batches: readonly B[],
  call: (batch: B) => Promise<unknown>,
  warmup: number,
  records: number,
): Promise<Measurement> {
  if (batches.length === 0) throw new Error('no batches');
  let i = 0;
  const next = (): B => batches[i++ % batches.length] as B;
  for (let done = 0; done < warmup;) {
    const batch = next();
    await call(batch);
    done += batch.records;
  }

  let timedRecords = 0;
  let timedRows = 0;
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (timedRecords < records) {
    const batch = next();
    await call(batch);
    timedRecords += batch.records;
    timedRows += batch.rows;
    calls++;
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { records: timedRecords, rows: timedRows, calls, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Raw onnxruntime: `session.run` on each batch. */
export function measureRawOrt(session: InferenceSession, batches: readonly Batch[], warmup: number, records: number): Promise<Measurement> {
  return measureCalls(batches, (batch) => session.run(batch.feeds), warmup, records);
}
