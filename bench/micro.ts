/**
 * Per-record costs of each stage the recommender pipeline runs, in isolation, on one thread:
 * the budget behind the pipeline's records/s. At 100,000 records/s the whole pipeline has
 * 10 µs per record; at half of raw onnxruntime's batch-512 speed, about 1 µs.
 *
 *   npx tsx bench/micro.ts
 */
import { performance } from 'node:perf_hooks';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { recommenderAdapter } from '../examples/recommender/adapter.js';
import { RecommenderRecordSchema, RecommenderResultSchema, type RecommenderResult } from '../examples/recommender/schemas.js';
import type { ModelResultMetadata } from '../src/serving/result-metadata.js';
import { tensor } from '../src/serving/tensor.js';
import { buildRecommenderModel, recommenderModels } from '../examples/recommender/models/build-models.js';
import { executorSessionOptions } from './harness/raw.js';
import { recommenderRecords } from './records.js';

const N = 51_200;
const BATCH = 512;

/** Best of 5 passes over `count` records: µs per record. */
async function time(count: number, pass: () => unknown | Promise<unknown>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 6; i++) {
    const started = performance.now();
    await pass();
    const us = ((performance.now() - started) * 1000) / count;
    if (i > 0) best = Math.min(best, us); // the first pass warms up
  }
  return best;
}

const session = await InferenceSession.create(buildRecommenderModel(recommenderModels[0] as (typeof recommenderModels)[number]), executorSessionOptions);
const records = recommenderRecords(N);
const batches: (typeof records)[] = [];
for (let i = 0; i < N; i += BATCH) batches.push(records.slice(i, i + BATCH));
const recordBytes = records.map((r) => RecommenderRecordSchema.encode(r));
const metadata: ModelResultMetadata = { errors: '', modelName: 'recommender-a', source: 'ONNX embedded', startTime: Date.now(), duration: 0.123 };
const inputs = batches.map((b) => recommenderAdapter.toInputs(b));
const outputs = await Promise.all(
  inputs.map(async (feeds) => {
    const out = await session.run({ users: toOrt(feeds.users), products: toOrt(feeds.products) });
    const p = out.predictions;
    if (!p) throw new Error('no predictions');
    return { predictions: tensor('float32', [...p.dims], p.data as Float32Array) };
  }),
);
const results: RecommenderResult[] = batches.flatMap((b, i) => {
  const outs = recommenderAdapter.fromOutputs(b, outputs[i] ?? {});
  return b.map((r, j) => recommenderAdapter.result(r, outs[j], metadata));
});
const resultBytes = results.map((r) => RecommenderResultSchema.encode(r));

// A batch encoded into one buffer and sliced, instead of one Buffer.alloc + copy per record.
const encodeBatchInto = (type: typeof RecommenderResultSchema.type, values: readonly unknown[]): Buffer[] => {
  let buf = Buffer.allocUnsafe(64 * 1024);
  let pos = 0;
  const ends: number[] = [];
  for (const value of values) {
    for (;;) {
      const tail = buf.subarray(pos);
      const res = type.encode(value, tail) as number; // avsc: bytes written, or negative when it does not fit
      if (res >= 0) {
        pos += res;
        ends.push(pos);
        break;
      }
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, pos - res));
      buf.copy(bigger, 0, 0, pos);
      buf = bigger;
    }
  }
  const out: Buffer[] = [];
  let from = 0;
  for (const end of ends) {
    out.push(buf.subarray(from, end));
    from = end;
  }
  return out;
};

// What-ifs for the two slowest pieces of example code.
const productNames = Array.from({ length: 300 }, (_, i) => String(i));
const fromOutputsLoop = (batch: typeof records, scores: Float32Array) => {
  const out = new Array<{ products: string[]; probabilities: number[] }>(batch.length);
  let row = 0;
  for (let i = 0; i < batch.length; i++) {
    const ids = (batch[i] as (typeof records)[number]).products;
    const products = new Array<string>(ids.length);
    const probabilities = new Array<number>(ids.length);
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j] as number;
      products[j] = productNames[id] ?? String(id);
      probabilities[j] = scores[row++] as number;
    }
    out[i] = { products, probabilities };
  }
  return out;
};
const generateLoop = (count: number) => {
  let state = 42 >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Array<{ user: number; products: number[]; datatype: string }>(count);
  for (let i = 0; i < count; i++) {
    const user = Math.floor(random() * 1000);
    const n = 1 + Math.floor(random() * 30);
    const products = new Array<number>(n);
    for (let j = 0; j < n; j++) products[j] = Math.floor(random() * 300);
    out[i] = { user, products, datatype: 'recommender' };
  }
  return out;
};

const rows: [string, number][] = [];
const add = async (label: string, count: number, pass: () => unknown | Promise<unknown>) => rows.push([label, await time(count, pass)]);

await add('generate a record (DataIngress next())', N, () => recommenderRecords(N));
await add('  what-if: a plain loop instead of Array.from(..., fn)', N, () => generateLoop(N));
await add('RecommenderRecord: Schema.encode (isValid + toBuffer)', N, () => records.map((r) => RecommenderRecordSchema.encode(r)));
await add('RecommenderRecord:   of which type.isValid', N, () => records.map((r) => RecommenderRecordSchema.type.isValid(r)));
await add('RecommenderRecord: Schema.decode', N, () => recordBytes.map((b) => RecommenderRecordSchema.decode(b, 'x')));
await add('adapter.toInputs (batches of 512)', N, () => batches.map((b) => recommenderAdapter.toInputs(b)));
await add('onnxruntime run() (batches of 512)', N, async () => {
  for (const feeds of inputs) await session.run({ users: toOrt(feeds.users), products: toOrt(feeds.products) });
});
await add('adapter.fromOutputs (batches of 512)', N, () => batches.map((b, i) => recommenderAdapter.fromOutputs(b, outputs[i] ?? {})));
await add('  what-if: a loop, product-id strings cached', N, () => batches.map((b, i) => fromOutputsLoop(b, outputs[i]?.predictions.data as Float32Array)));
await add('RecommenderResult: Schema.encode (isValid + toBuffer)', N, () => results.map((r) => RecommenderResultSchema.encode(r)));
await add('RecommenderResult:   of which type.isValid', N, () => results.map((r) => RecommenderResultSchema.type.isValid(r)));
await add('RecommenderResult:   toBuffer alone', N, () => results.map((r) => RecommenderResultSchema.type.toBuffer(r)));
await add('  what-if: toBuffer into one buffer per batch of 512, sliced', N, () => {
  for (let i = 0; i < N; i += BATCH) encodeBatchInto(RecommenderResultSchema.type, results.slice(i, i + BATCH));
});
await add('RecommenderResult: Schema.decode', N, () => resultBytes.map((b) => RecommenderResultSchema.decode(b, 'x')));
await session.release();

function toOrt(t: { data: unknown; shape: readonly number[] } | undefined) {
  return new OrtTensor('float32', t?.data as Float32Array, t?.shape as number[]);
}

const width = Math.max(...rows.map(([l]) => l.length));
console.log(`per-record cost of each stage (best of 5 passes over ${N.toLocaleString('en-US')} records, one thread):`);
for (const [label, us] of rows) console.log(`  ${label.padEnd(width)}  ${us.toFixed(3).padStart(7)} µs`);
const stage = (prefix: string) => rows.find(([l]) => l.startsWith(prefix))?.[1] ?? 0;
const pipelineSum =
  stage('generate') +
  stage('RecommenderRecord: Schema.encode') +
  stage('RecommenderRecord: Schema.decode') +
  stage('adapter.toInputs') +
  stage('onnxruntime') +
  stage('adapter.fromOutputs') +
  stage('RecommenderResult: Schema.encode') +
  stage('RecommenderResult: Schema.decode');
console.log(
  `  ${'sum of the pipeline stages (no what-ifs)'.padEnd(width)}  ${pipelineSum.toFixed(3).padStart(7)} µs  → at most ${Math.round(1e6 / pipelineSum).toLocaleString('en-US')} records/s on one thread`,
);
const avro =
  stage('RecommenderRecord: Schema.encode') +
  stage('RecommenderRecord: Schema.decode') +
  stage('RecommenderResult: Schema.encode') +
  stage('RecommenderResult: Schema.decode');
console.log(`  ${'  of which Avro between streamlets'.padEnd(width)}  ${avro.toFixed(3).padStart(7)} µs  (${((100 * avro) / pipelineSum).toFixed(0)}%)`);
