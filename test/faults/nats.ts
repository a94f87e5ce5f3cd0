/**
 * Shared helpers of the fault scenarios on the JetStream runtime: the real CLI (`sluice run
 * --runtime nats`, a supervisor with one process per replica) on the fixture pipeline
 * numbers → doubler → tally of test/runtime/nats (its sink swapped for one recording the ids it
 * reads), against a private nats-server; `sluice status` to find replicas; and the
 * reconciliation of the topic `doubled` against the topic `numbers`, per input message (what
 * the runtime promises exactly once) and per record id, and of the sink's file against `doubled`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { logEntries, sluice, SluiceProcess } from '../support/cli.js';
import { Doubled, NumberRecord } from '../runtime/nats/fixtures/pipeline.js';
import { readStream, until } from '../runtime/nats/support.js';
import { tempDir } from '../support/recommender.js';
import { reconcile } from './ledger.js';

export const pipelineBlueprint = fileURLToPath(new URL('./fixtures/recorded-pipeline.conf', import.meta.url));

export interface Pipeline {
  readonly supervisor: SluiceProcess;
  /** Where the sink appends the id of every record it reads. */
  readonly sinkFile: string;
}

/** Starts the supervisor of the fixture pipeline on `url` as application `app`; resolves once it has started its replicas. */
export async function startPipeline(url: string, app: string, overrides: readonly string[]): Promise<Pipeline> {
  const sinkFile = join(tempDir('sluice-fault-sink-'), 'ids');
  const supervisor = new SluiceProcess([
    'run',
    pipelineBlueprint,
    '--runtime',
    'nats',
    '--nats-url',
    url,
    '--log-format',
    'json',
    `sluice.nats.application=${app}`,
    // Short waits so a killed replica's records come back and it restarts within seconds.
    'sluice.nats.consumer.ack-wait=2s',
    'sluice.restart.backoff-min=200ms',
    `tally.file=${sinkFile}`,
    ...overrides,
  ]);
  await supervisor.waitFor(/3 streamlets starting on NATS/, 'stderr');
  return { supervisor, sinkFile };
}

export interface Replica {
  readonly replica: string;
  readonly pid: number;
}

interface StatusJson {
  streamlets: { name: string; replicas: Replica[] }[];
}

/** The running replicas of `streamlet`, as `sluice status --json` reports them. */
export async function replicasOf(url: string, app: string, streamlet: string): Promise<Replica[]> {
  const done = await sluice(['status', app, '--nats-url', url, '--json']);
  if (done.code !== 0) return [];
  return (JSON.parse(done.stdout) as StatusJson).streamlets.find((s) => s.name === streamlet)?.replicas ?? [];
}

/** The first running replica of `streamlet`: looked up before the fault, so the kill itself is immediate. */
export async function firstReplica(url: string, app: string, streamlet: string): Promise<Replica> {
  let found: Replica | undefined;
  await until(`a replica of ${streamlet}`, async () => (found = (await replicasOf(url, app, streamlet))[0]) !== undefined);
  return found as Replica;
}

/** SIGKILLs a replica and waits until the supervisor has restarted it under a new pid. */
export async function killReplica(supervisor: SluiceProcess, victim: Replica): Promise<void> {
  process.kill(victim.pid, 'SIGKILL');
  await supervisor.waitFor(new RegExp(`"replica":"${victim.replica}".*"signal":"SIGKILL".*"msg":"replica exited; restarting"`), 'stderr');
  await until(`${victim.replica} restarted`, () =>
    logEntries(supervisor.stderr).some((l) => l.msg === 'replica started' && l.replica === victim.replica && l.pid !== victim.pid),
  );
}

/** A stream's message count and a consumer group's state, or undefined while the broker cannot say. */
export async function brokerState(
  url: string,
  stream: string,
  group?: string,
): Promise<{ messages: number; lastSeq: number; consumer?: ConsumerInfo } | undefined> {
  const nc = await connect({ servers: url, reconnect: false }).catch(() => undefined);
  if (!nc) return undefined;
  try {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(stream);
    const consumer = group === undefined ? undefined : await jsm.consumers.info(stream, group);
    return { messages: state.messages, lastSeq: state.last_seq, consumer };
  } catch {
    return undefined;
  } finally {
    await nc.close();
  }
}

/** Whether a consumer group has taken and committed everything of its stream. */
export async function drained(url: string, app: string, topic: string, group: string): Promise<boolean> {
  const s = await brokerState(url, `sluice_${app}_${topic}`, group);
  return s?.consumer !== undefined && s.consumer.num_pending === 0 && s.consumer.num_ack_pending === 0 && s.consumer.ack_floor.stream_seq === s.lastSeq;
}

export interface PipelineLedger {
  /** Messages stored on `numbers` (a source restarted from zero stores its records again). */
  readonly inputs: number;
  /** Messages stored on `doubled`. */
  readonly outputs: number;
  /** Input messages with no output, and ids 0..count-1 with no output. */
  readonly lostMessages: readonly string[];
  readonly lostIds: readonly number[];
  /** Input messages with more than one output: what effectively-once rules out. */
  readonly duplicatedMessages: readonly string[];
  /** Ids that came out more than once because they went in more than once (source republished them). */
  readonly republishedIds: number;
  /** Input messages carrying a Nats-Msg-Id header (the fixture source sets none). */
  readonly inputsWithMsgId: number;
  /** Outputs whose origin is no input message. */
  readonly unexpected: readonly string[];
  /** Output ids the sink never recorded (as often as they are on `doubled`): committed without being read. */
  readonly sinkMissed: readonly number[];
  /** Records the sink recorded once more than they are on `doubled`: read again after a kill (at-least-once). */
  readonly sinkRepeats: number;
}

/**
 * Reads both topics and matches every output to its input message by the origin in its
 * Nats-Msg-Id (`<stream>:<sequence>/<outlet>/<k>`), and every id 0..count-1 to the outputs.
 */
export async function pipelineLedger(url: string, app: string, count: number, sinkFile: string): Promise<PipelineLedger> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const numbers = (await jsm.streams.info(`sluice_${app}_numbers`)).state;
    const inputs = await readStream(nc, `sluice_${app}_numbers`, NumberRecord);
    const outputs = await readStream(nc, `sluice_${app}_doubled`, Doubled);
    // Streams of the runtime keep everything (limits retention, no max age): sequences first..last are the inputs.
    const sent = Array.from({ length: numbers.last_seq - numbers.first_seq + 1 }, (_, i) => `#${numbers.first_seq + i}`);
    const origins = outputs.map((o) => `#${/:(\d+)\//.exec(o.msgId ?? '')?.[1] ?? `unlinked ${o.msgId}`}`);
    const byMessage = reconcile(sent, origins, []);
    const ids = Array.from({ length: count }, (_, i) => String(i));
    const byId = reconcile(
      ids,
      outputs.map((o) => String(o.value.id)),
      [],
    );
    const times = (values: readonly number[]) => values.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<number, number>());
    const out = times(outputs.map((o) => o.value.id));
    const recorded = times(
      (existsSync(sinkFile) ? readFileSync(sinkFile, 'utf8') : '')
        .split('\n')
        .filter((l) => l !== '')
        .map(Number),
    );
    const sinkMissed = [...out].filter(([id, n]) => (recorded.get(id) ?? 0) < n).map(([id]) => id);
    const sinkRepeats = [...recorded].reduce((sum, [id, n]) => sum + Math.max(0, n - (out.get(id) ?? 0)), 0);
    return {
      sinkMissed,
      sinkRepeats,
      inputs: inputs.length,
      outputs: outputs.length,
      lostMessages: byMessage.lost,
      lostIds: byId.lost.map(Number),
      duplicatedMessages: byMessage.duplicated,
      republishedIds: byId.duplicated.length,
      inputsWithMsgId: inputs.filter((i) => i.msgId !== undefined).length,
      unexpected: [...byMessage.unexpected, ...byId.unexpected],
    };
  } finally {
    await nc.close();
  }
}

/** Stops the supervisor as an operator would (SIGTERM), killing it if it does not stop in time. */
export async function stopPipeline({ supervisor }: Pipeline): Promise<number | null> {
  if (supervisor.child.exitCode !== null) return supervisor.child.exitCode;
  supervisor.child.kill('SIGTERM');
  return (await supervisor.finished(30_000).catch(() => ({ code: null }))).code;
}
