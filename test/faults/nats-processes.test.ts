/**
 * Faults of the JetStream runtime with one OS process per streamlet replica (the real CLI, a
 * supervisor, a private nats-server): `kill -9` of a replica of each process kind under load
 * (the source numbers, the processor doubler with two replicas, the sink tally), and a
 * nats-server restart under load. Each checks the topic `doubled` against the topic `numbers`
 * (every input message once in the output: outputs carry their origin, so the broker drops a
 * republished output; every id 0..count-1 in the output), and what the sink recorded against
 * `doubled` (every output read; a sink is at-least-once, so repeats are counted, not failed).
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logEntries } from '../support/cli.js';
import { PrivateNats, uniqueApp, until } from '../runtime/nats/support.js';
import { recordOutcome } from './ledger.js';
import {
  brokerState,
  drained,
  firstReplica,
  killReplica,
  pipelineLedger,
  replicasOf,
  startPipeline,
  stopPipeline,
  type Pipeline,
  type PipelineLedger,
  type Replica,
} from './nats.js';

const count = 3_000;
/** 150 batches of 20 with pauses: the source publishes for several seconds, so faults hit it under load. */
const load = [`numbers.count=${count}`, 'numbers.batch=20', 'numbers.pause-ms=30', 'doubler.work-ms=5', 'sluice.nats.replicas.doubler=2'];

let server: PrivateNats;
const pipelines: Pipeline[] = [];

beforeAll(async () => {
  server = await PrivateNats.start();
});

afterAll(async () => {
  for (const { supervisor } of pipelines) if (supervisor.child.exitCode === null) supervisor.child.kill('SIGKILL');
  // Replicas stop by themselves once their supervisor is gone; give them a moment before the server goes.
  await sleep(500);
  await server.stop();
  for (const { sinkFile } of pipelines) rmSync(dirname(sinkFile), { recursive: true, force: true });
});

const stored = async (app: string, topic: string) => (await brokerState(server.url, `sluice_${app}_${topic}`))?.messages ?? 0;

/** Deliveries of a consumer group beyond the first of each message: what came back after a kill or a lost ack. */
async function redeliveries(app: string, topic: string, group: string): Promise<number> {
  const state = await brokerState(server.url, `sluice_${app}_${topic}`, group);
  return state?.consumer ? state.consumer.delivered.consumer_seq - state.consumer.delivered.stream_seq : Number.NaN;
}

/** Starts the pipeline and waits for both doubler replicas. */
async function start(app: string): Promise<Pipeline> {
  const pipeline = await startPipeline(server.url, app, load);
  pipelines.push(pipeline);
  await until('two doubler replicas', async () => (await replicasOf(server.url, app, 'doubler')).length === 2);
  return pipeline;
}

/** Waits until `topic` holds at least `atLeast` records; returns how many it holds. */
async function loaded(app: string, topic: string, atLeast: number): Promise<number> {
  await until(`${atLeast} records on ${topic}`, async () => (await stored(app, topic)) >= atLeast);
  return stored(app, topic);
}

/** Starts the pipeline and SIGKILLs the first replica of `streamlet` once `topic` holds `atLeast` records. */
async function killUnderLoad(
  app: string,
  streamlet: string,
  topic = 'doubled',
  atLeast = 500,
): Promise<{ pipeline: Pipeline; victim: Replica; storedAtKill: number }> {
  const pipeline = await start(app);
  const victim = await firstReplica(server.url, app, streamlet);
  const storedAtKill = await loaded(app, topic, atLeast);
  await killReplica(pipeline.supervisor, victim);
  return { pipeline, victim, storedAtKill };
}

/** Waits until the source is done and both consumer groups committed everything, then reconciles. */
async function settle({ supervisor, sinkFile }: Pipeline, app: string): Promise<PipelineLedger> {
  await until('the source finished', () => logEntries(supervisor.stderr).some((l) => l.msg === 'replica finished' && l.streamlet === 'numbers'), 60_000);
  await until(
    'every input processed and every output committed',
    async () => (await drained(server.url, app, 'numbers', 'doubler-in')) && (await drained(server.url, app, 'doubled', 'tally-in')),
    60_000,
  );
  return pipelineLedger(server.url, app, count, sinkFile);
}

function counts(ledger: PipelineLedger): { lost: number; duplicated: number } {
  return { lost: ledger.lostMessages.length + ledger.lostIds.length + ledger.sinkMissed.length, duplicated: ledger.duplicatedMessages.length };
}

function expectEveryInputOnce(ledger: PipelineLedger): void {
  expect({
    lostMessages: ledger.lostMessages,
    lostIds: ledger.lostIds,
    duplicatedMessages: ledger.duplicatedMessages,
    unexpected: ledger.unexpected,
    sinkMissed: ledger.sinkMissed,
  }).toEqual({ lostMessages: [], lostIds: [], duplicatedMessages: [], unexpected: [], sinkMissed: [] });
  expect(ledger.outputs).toBe(ledger.inputs);
  // Ids that came out twice are exactly the ids that went in twice.
  expect(ledger.republishedIds).toBe(ledger.inputs - count);
}

const sinkNote = (ledger: PipelineLedger) => `sink read every output, ${ledger.sinkRepeats} of them again (at-least-once)`;

describe('fault: kill -9 of a replica under load (JetStream runtime, a process per replica)', () => {
  it('the processor (doubler, one of 2 replicas): its uncommitted records go to the other replica, every input once in the output', async () => {
    const app = uniqueApp('fkdbl');
    const { pipeline, victim, storedAtKill } = await killUnderLoad(app, 'doubler');
    const ledger = await settle(pipeline, app);
    const again = await redeliveries(app, 'numbers', 'doubler-in');
    recordOutcome({
      scenario: 'kill -9 processor replica (doubler) under load',
      sent: count,
      ...counts(ledger),
      deadLettered: 0,
      errorResults: 0,
      notes:
        `${victim.replica} killed with ${storedAtKill} of ${count} outputs stored, restarted by the supervisor; ${again} inputs delivered again ` +
        `(their outputs, if already published, dropped by Nats-Msg-Id); ${ledger.inputs} inputs, ${ledger.outputs} outputs; ${sinkNote(ledger)}`,
    });
    expectEveryInputOnce(ledger);
    expect(ledger.inputs).toBe(count);
    expect(await stopPipeline(pipeline)).toBe(0);
  });

  it('the sink (tally): what it had not committed is delivered again, every output read', async () => {
    const app = uniqueApp('fktly');
    const { pipeline, victim, storedAtKill } = await killUnderLoad(app, 'tally');
    const ledger = await settle(pipeline, app);
    const again = await redeliveries(app, 'doubled', 'tally-in');
    recordOutcome({
      scenario: 'kill -9 sink replica (tally) under load',
      sent: count,
      ...counts(ledger),
      deadLettered: 0,
      errorResults: 0,
      notes: `${victim.replica} killed with ${storedAtKill} outputs stored, restarted by the supervisor; ${again} outputs delivered to the sink again; ${sinkNote(ledger)}`,
    });
    expectEveryInputOnce(ledger);
    expect(ledger.inputs).toBe(count);
    // What the sink read again is at most what the broker delivered again.
    expect(ledger.sinkRepeats).toBeLessThanOrEqual(again);
    expect(await stopPipeline(pipeline)).toBe(0);
  });

  it('the source (numbers): it restarts from zero; every input the broker stored is processed once, every id comes out', async () => {
    const app = uniqueApp('fksrc');
    const { pipeline, victim, storedAtKill } = await killUnderLoad(app, 'numbers', 'numbers', 300);
    const ledger = await settle(pipeline, app);
    recordOutcome({
      scenario: 'kill -9 source replica (numbers) under load',
      sent: count,
      ...counts(ledger),
      deadLettered: 0,
      errorResults: 0,
      notes:
        `${victim.replica} killed after the broker had stored (acked) ${ledger.inputs - count} of its records. The fixture source keeps no position and its records carry no Nats-Msg-Id ` +
        `(${ledger.inputsWithMsgId} of ${ledger.inputs} inputs have one): restarted, it publishes ids 0..${count - 1} again and the broker keeps both copies. ` +
        `${ledger.inputs} input messages, each processed once (${ledger.outputs} outputs, deduplicated by origin); ${ledger.republishedIds} ids went in, and came out, twice; ${sinkNote(ledger)}`,
    });
    expectEveryInputOnce(ledger);
    // The kill hit the source while it still published.
    expect(storedAtKill).toBeLessThan(count);
    expect(ledger.inputs).toBeGreaterThan(count);
    expect(ledger.inputsWithMsgId).toBe(0);
    expect(await stopPipeline(pipeline)).toBe(0);
  });
});

describe('fault: nats-server restart under load (JetStream runtime, a process per replica)', () => {
  it('every replica reconnects; every input once in the output, nothing lost', async () => {
    const app = uniqueApp('fkbrk');
    const pipeline = await start(app);
    const outputsAtKill = await loaded(app, 'doubled', 500);
    await server.kill();
    await sleep(1_000);
    await server.restart();
    const ledger = await settle(pipeline, app);
    const restarts = logEntries(pipeline.supervisor.stderr).filter((l) => l.msg === 'replica exited; restarting').length;
    recordOutcome({
      scenario: 'nats-server kill -9 and restart under load',
      sent: count,
      ...counts(ledger),
      deadLettered: 0,
      errorResults: 0,
      notes:
        `server killed with ${outputsAtKill} of ${count} outputs stored, down ~1 s; ${restarts} replica restarts; ${ledger.inputs} input messages ` +
        `(${ledger.inputs - count} source records stored twice: a publish without Nats-Msg-Id resent on reconnect after its ack was lost), ${ledger.outputs} outputs; ${sinkNote(ledger)}`,
    });
    expectEveryInputOnce(ledger);
    expect(await stopPipeline(pipeline)).toBe(0);
  });
});
