/**
 * JetStream runtime benchmark, against the nats-server at NATS_URL (default 127.0.0.1:4222):
 *
 * 1. the limit: a raw consume → publish → ack worker moving records between two streams with
 *    the fastest client path (consume with a callback, hand-rolled async publish, one ack per
 *    message), beside Sluice moving the same records through a streamlet (`doubler`), with the
 *    runtime's choices varied one at a time (publish window, pull size, message ids);
 * 2. the recommender's model serving with 1, 2 and 4 replicas, each a `sluice run --streamlet
 *    model-serving` process (needs `npx tsc -p tsconfig.build.json`): records/s from a full
 *    backlog, and end-to-end latency p50/p99 at a paced rate (stream timestamps: request stored
 *    → result stored).
 *
 * The worker rows run in interleaved rounds (limit, then each variant, per round) and report
 * medians, so load from elsewhere on a shared machine hits them alike.
 *
 *   npx tsx bench/nats.ts [--records=N] [--rate=R] [--rounds=N] [--part=worker|serving]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { buildRecommenderModel, recommenderModels } from '../examples/recommender/models/build-models.js';
import { RecommenderRecordSchema, RecommenderResultSchema } from '../examples/recommender/schemas.js';
import { runApplication } from '../src/app.js';
import { createLogger } from '../src/core/log.js';
import { Item, pad } from './nats-streamlets.js';
import { ModelDescriptorSchema } from '../src/serving/descriptor.js';
import { JetStreamPublisher, type Publication } from '../src/runtime/nats/publisher.js';
import { packageRoot } from '../src/util/package-root.js';
import { recommenderRecords } from './records.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const records = arg('records', 100_000);
const rate = arg('rate', 4_000);
/** `worker` (the raw limit and Sluice's choices), `serving` (model-serving replicas), or both. */
const rounds = arg('rounds', 3);
const part = process.argv.find((a) => a.startsWith('--part='))?.slice('--part='.length) ?? 'all';
const log = createLogger({ level: 'warn' });
const run = `b${Date.now().toString(36)}`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function createStream(jsm: JetStreamManager, name: string, subject: string): Promise<void> {
  await jsm.streams.add({ name, subjects: [subject], duplicate_window: 120e9 });
}

async function preload(nc: NatsConnection, subject: string, stream: string, payloads: (i: number) => Uint8Array, count: number): Promise<void> {
  const publisher = new JetStreamPublisher(nc, { window: 4096, timeout: 5000 }, log, async () => undefined);
  const target = { topic: stream, stream, subject };
  for (let from = 0; from < count; from += 1000) {
    const batch: Publication[] = [];
    for (let i = from; i < Math.min(count, from + 1000); i++) batch.push({ target, payload: payloads(i) });
    await publisher.publish(batch);
  }
  publisher.close();
}

async function waitForMessages(jsm: JetStreamManager, stream: string, count: number): Promise<void> {
  while ((await jsm.streams.info(stream)).state.messages < count) await sleep(20);
}

/** Records/s as the broker saw them stored: from the first to the last message of the stream, so start-up is not counted. */
async function storedRate(jsm: JetStreamManager, stream: string): Promise<number> {
  const { state } = await jsm.streams.info(stream);
  return (state.messages - 1) / ((Date.parse(state.last_ts) - Date.parse(state.first_ts)) / 1000);
}

/** The limit: consume A, publish each to B with a message id, ack after the PubAcks — what Sluice does, minus Sluice. */
async function raw(nc: NatsConnection, jsm: JetStreamManager, count: number, round: number): Promise<number> {
  const [a, b] = [`${run}_raw${round}_a`, `${run}_raw${round}_b`];
  await createStream(jsm, a, `${a}.in`);
  await createStream(jsm, b, `${b}.out`);
  const item = Item.encode({ id: 0, pad }, 'bench');
  await preload(nc, `${a}.in`, a, () => item, count);
  await jsm.consumers.add(a, { durable_name: 'w', ack_policy: AckPolicy.Explicit, max_ack_pending: 8192 });
  const publisher = new JetStreamPublisher(nc, { window: 4096, timeout: 5000 }, log, async () => undefined);
  const target = { topic: b, stream: b, subject: `${b}.out` };
  const consumer = await jetstream(nc).consumers.get(a, 'w');
  let pending: JsMsg[] = [];
  // Batches are not waited for one by one: the publisher's window is the only bound. Each is
  // tracked, so none is still waiting for its PubAck when the publisher closes (close rejects
  // those, and a rejection nobody handles ends the process).
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const flush = () => {
    const batch = pending;
    pending = [];
    const done = publisher
      .publish(batch.map((m) => ({ target, payload: m.data, msgId: `${a}:${m.seq}` })))
      .then(
        () => {
          for (const m of batch) m.ack();
        },
        (error: unknown) => {
          failure ??= error;
        },
      )
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  const messages = await consumer.consume({
    max_messages: 1024,
    callback: (m) => {
      pending.push(m);
      if (pending.length >= 256) flush();
    },
  });
  const timer = setInterval(() => pending.length > 0 && flush(), 5);
  try {
    // A refused publish would never fill the stream: stop on it instead of waiting forever.
    while ((await jsm.streams.info(b)).state.messages < count && failure === undefined) await sleep(20);
  } finally {
    clearInterval(timer);
    await messages.close();
    // Delivered but not yet handed on (redeliveries, at most): publish them too, then wait for every PubAck.
    if (pending.length > 0) flush();
    await Promise.all(inFlight);
    publisher.close();
  }
  if (failure !== undefined) throw failure;
  const perSecond = await storedRate(jsm, b);
  await jsm.streams.delete(a);
  await jsm.streams.delete(b);
  return perSecond;
}

/** Sluice: the doubler streamlet alone, on a preloaded topic; `instances` replicas in this process. */
async function sluice(jsm: JetStreamManager, nc: NatsConnection, count: number, label: string, overrides: string[], instances = 1): Promise<number> {
  const app = `${run}_${label}`;
  const item = Item.encode({ id: 0, pad }, 'bench');
  await createStream(jsm, `sluice_${app}_items`, `sluice.${app}.items`);
  await preload(nc, `sluice.${app}.items`, `sluice_${app}_items`, () => item, count);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const blueprint = join(dir, 'bench.conf');
  // Only the doubler runs; feed and sink give its topics a producer and a reader.
  writeFileSync(
    blueprint,
    `blueprint {\n modules { b = "${join(packageRoot(), 'bench', 'nats-streamlets.ts')}" }\n streamlets { feed = b.Feed, doubler = b.Doubler, sink = b.Sink }\n` +
      ` topics {\n items { producers = [feed.out], consumers = [doubler.in] }\n out { producers = [doubler.out], consumers = [sink.in] }\n }\n}\n`,
  );
  const options = {
    blueprint,
    runtime: 'nats',
    streamlets: ['doubler'],
    log,
    overrides: [`sluice.nats.url=${url}`, `sluice.nats.application=${app}`, 'sluice.http.port=0', 'sluice.metrics.enabled=false', ...overrides],
  } as const;
  const apps = await Promise.all(Array.from({ length: instances }, () => runApplication(options)));
  await waitForMessages(jsm, `sluice_${app}_out`, count);
  const perSecond = await storedRate(jsm, `sluice_${app}_out`);
  await Promise.all(apps.map((a) => a.stop()));
  for (const stream of [`sluice_${app}_items`, `sluice_${app}_out`]) await jsm.streams.delete(stream);
  rmSync(dir, { recursive: true, force: true });
  return perSecond;
}

function replicaProcesses(app: string, n: number): ChildProcess[] {
  const blueprint = join(packageRoot(), 'examples', 'recommender', 'recommender.conf');
  return Array.from({ length: n }, (_, i) =>
    spawn(
      process.execPath,
      [
        join(packageRoot(), 'bin', 'sluice.js'),
        'run',
        blueprint,
        '--runtime',
        'nats',
        '--streamlet',
        'model-serving',
        '--quiet',
        '--log-format',
        'json',
        `sluice.nats.url=${url}`,
        `sluice.nats.application=${app}`,
        'sluice.http.port=0',
        'sluice.metrics.enabled=false',
        `sluice.state-directory=${join(tmpdir(), `${app}-${i}`)}`,
      ],
      { stdio: 'ignore' },
    ),
  );
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          c.once('exit', resolve);
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** Model serving with `n` replicas: records/s from a full backlog, then latency at `rate` records/s. */
async function serving(nc: NatsConnection, jsm: JetStreamManager, n: number, count: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const app = `${run}_serve${n}`;
  const data = `sluice_${app}_data-ingress-out`;
  await createStream(jsm, data, `sluice.${app}.data-ingress-out`);
  const model = recommenderModels[0]!;
  const descriptor = ModelDescriptorSchema.encode(
    { modelName: model.name, description: '', modelType: 'ONNX', modelBytes: Buffer.from(buildRecommenderModel(model)), modelSourceLocation: null },
    'bench',
  );
  await (await new Kvm(nc).create(`sluice_${app}_models`, { history: 16 })).put('model-ingress-out', descriptor);
  const requests = recommenderRecords(count).map((r, i) => RecommenderRecordSchema.encode({ ...r, datatype: `b-${i}` }, 'bench'));
  await preload(nc, `sluice.${app}.data-ingress-out`, data, (i) => requests[i]!, count);
  const out = `sluice_${app}_model-serving-out`;
  const children = replicaProcesses(app, n);
  while (!(await jsm.streams.info(out).catch(() => undefined))) await sleep(50);
  await waitForMessages(jsm, out, count);
  const perSecond = await storedRate(jsm, out);

  // Latency: paced requests, stream timestamps of request and result.
  const paced = Math.min(rate * 5, count);
  const publisher = new JetStreamPublisher(nc, { window: 4096, timeout: 5000 }, log, async () => undefined);
  const target = { topic: data, stream: data, subject: `sluice.${app}.data-ingress-out` };
  const firstSeq = (await jsm.streams.info(data)).state.last_seq + 1;
  const tick = 10;
  const per = Math.max(1, Math.round((rate * tick) / 1000));
  const t0 = performance.now();
  for (let i = 0; i < paced; i += per) {
    await publisher.publish(requests.slice(i, i + per).map((payload) => ({ target, payload })));
    const due = t0 + ((i + per) / rate) * 1000 - performance.now();
    if (due > 0) await sleep(due);
  }
  publisher.close();
  await waitForMessages(jsm, out, count + paced);
  const stored = new Map<number, number>();
  const inputs = await jetstream(nc).consumers.get(data, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: firstSeq });
  for await (const m of await inputs.consume({ max_messages: 1000 })) {
    stored.set(m.seq, m.info.timestampNanos / 1e6);
    if (stored.size >= paced) break;
  }
  const latencies: number[] = [];
  const outputs = await jetstream(nc).consumers.get(out, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: count + 1 });
  const seqOfTag = new Map<string, number>();
  for (let i = 0; i < paced; i++) seqOfTag.set(`b-${i}`, firstSeq + i);
  for await (const m of await outputs.consume({ max_messages: 1000 })) {
    const tag = RecommenderResultSchema.decode(Buffer.from(m.data), 'bench').inputRecord.datatype;
    const at = stored.get(seqOfTag.get(tag) ?? -1);
    if (at !== undefined) latencies.push(m.info.timestampNanos / 1e6 - at);
    if (latencies.length >= paced) break;
  }
  await stopAll(children);
  for (let i = 0; i < n; i++) rmSync(join(tmpdir(), `${app}-${i}`), { recursive: true, force: true });
  latencies.sort((x, y) => x - y);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return { perSecond, p50: q(0.5), p99: q(0.99) };
}

const nc = await connect({ servers: url });
const jsm = await jetstreamManager(nc);
try {
  console.log(`JetStream runtime bench: ${records} records of ~200 bytes, ${url}\n`);
  const variants: [string, string[], number?][] = [
    ['sluice, defaults (window 4096, pull 1024, message ids)', []],
    ['sluice, publish window 256', ['sluice.nats.publish.window=256']],
    ['sluice, pull 128', ['sluice.nats.consumer.max-messages=128']],
    ['sluice, no message ids (at-least-once)', ['doubler.linked=false']],
    ['sluice, 2 replicas in one process', [], 2],
  ];
  if (part !== 'serving') {
    // Rounds interleave the limit and every variant, so load from elsewhere hits them alike; medians.
    const limits: number[] = [];
    const measured = variants.map(() => ({ perSecond: [] as number[], ratio: [] as number[] }));
    for (let round = 0; round < rounds; round++) {
      const limit = await raw(nc, jsm, records, round);
      limits.push(limit);
      for (const [i, [, overrides, instances]] of variants.entries()) {
        const perSecond = await sluice(jsm, nc, records, `r${round}v${i}`, overrides, instances);
        measured[i]?.perSecond.push(perSecond);
        measured[i]?.ratio.push(perSecond / limit);
      }
    }
    console.log(`| path (median of ${rounds} interleaved rounds) | records/s | of the raw limit |\n| --- | ---: | ---: |`);
    console.log(`| raw consume → publish → ack (limit) | ${Math.round(median(limits))} | 100% |`);
    for (const [i, [label]] of variants.entries()) {
      console.log(`| ${label} | ${Math.round(median(measured[i]?.perSecond ?? []))} | ${Math.round(median(measured[i]?.ratio ?? []) * 100)}% |`);
    }
  }
  console.log(`\n| model-serving replicas | records/s (backlog) | p50 ms | p99 ms (at ${rate}/s) |\n| ---: | ---: | ---: | ---: |`);
  for (const n of part === 'worker' ? [] : [1, 2, 4]) {
    const r = await serving(nc, jsm, n, Math.min(records, 60_000));
    console.log(`| ${n} | ${Math.round(r.perSecond)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
  }
} finally {
  for await (const name of jsm.streams.names()) if (name.includes(run)) await jsm.streams.delete(name);
  await nc.close();
}
