/**
 * Faults of the model servers behind the model-serving streamlet: two real `sluice serve`
 * processes, one killed with SIGKILL mid-stream, then both, then one back; and servers that
 * answer too late (frozen with SIGSTOP beyond the executor's deadline), one and then both.
 * Every record must get exactly one result: scored as the model scores it, or an error result
 * while no server can answer; the stream must not stall.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecommenderRecord, RecommenderResult } from '../../examples/recommender/schemas.js';
import { ModelServing } from '../../examples/recommender/streamlets.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { recommenderRecord, results, tempDir } from '../support/recommender.js';
import { remoteDescriptor } from '../serving/remote/support.js';
import { recordOutcome, reconcile } from './ledger.js';
import { expectedProbabilities, ServeProcess } from './model-servers.js';

const servers: ServeProcess[] = [];
let harness: StreamletHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const records = (from: number, count: number): RecommenderRecord[] => Array.from({ length: count }, (_, i) => recommenderRecord(from + i));

async function twoServersAndServing(
  location: (a: ServeProcess, b: ServeProcess) => string,
): Promise<{ a: ServeProcess; b: ServeProcess; h: StreamletHarness }> {
  const [a, b] = await Promise.all([ServeProcess.start(), ServeProcess.start()]);
  servers.push(a, b);
  const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() }, config: { 'batch-size': 16 } });
  harness = h;
  await h.send('in-1', [remoteDescriptor('OPEN_INFERENCE', location(a, b), 'recommender-served')]);
  await h.until(() => h.committed('in-1') === 1, 30_000);
  return { a, b, h };
}

/** Sends records in small chunks with pauses, so faults land while records are in flight. */
class Stream {
  sent = 0;
  constructor(private readonly h: StreamletHarness) {}

  async chunks(count: number, chunk = 25, pauseMs = 10): Promise<void> {
    for (const end = this.sent + count; this.sent < end;) {
      const n = Math.min(chunk, end - this.sent);
      await this.h.send('in-0', records(this.sent, n));
      this.sent += n;
      await sleep(pauseMs);
    }
  }

  /** Waits until every record sent has a result. */
  async answered(timeoutMs = 30_000): Promise<void> {
    await this.h.until(() => this.h.outputs('out').length >= this.sent, timeoutMs);
  }

  /** After an outage: one record at a time until one is scored again (a circuit lets a probe through after its cool-down). */
  async untilScored(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.chunks(1, 1, 0);
      await this.answered();
      if (results(this.h.outputs('out')).at(-1)?.modelResultMetadata.errors === '') return;
      if (Date.now() > deadline) throw new Error('no record scored again');
      await sleep(50);
    }
  }
}

interface Checked {
  readonly lost: string[];
  readonly duplicated: string[];
  readonly unexpected: string[];
  /** Results without an error whose probabilities are not the model's. */
  readonly wrong: string[];
  readonly errors: readonly RecommenderResult[];
}

async function check(h: StreamletHarness, sent: number): Promise<Checked> {
  const all = records(0, sent);
  const out = results(h.outputs('out'));
  const { lost, duplicated, unexpected } = reconcile(
    all.map((r) => r.datatype),
    out.map((r) => r.inputRecord.datatype),
    [],
  );
  const expected = await expectedProbabilities(all);
  const scored = out.filter((r) => r.modelResultMetadata.errors === '');
  const wrong = scored
    .filter((r) => JSON.stringify(r.modelResult.probabilities) !== JSON.stringify(expected.get(r.inputRecord.datatype)))
    .map((r) => r.inputRecord.datatype);
  return { lost, duplicated, unexpected, wrong, errors: out.filter((r) => r.modelResultMetadata.errors !== '') };
}

const errorsOf = (h: StreamletHarness, from: number, to: number) =>
  results(h.outputs('out'))
    .slice(from, to)
    .map((r) => r.modelResultMetadata.errors);

describe('fault: a model server crashes (kill -9 of sluice serve)', () => {
  it('one of two killed mid-stream, then both, then one back: every record exactly one result, none lost', async () => {
    const { a, b, h } = await twoServersAndServing((a, b) => `grpc://${a.grpc},${b.grpc}/recommender?circuit-failures=2&circuit-cooldown=300ms&timeout=2s`);
    const stream = new Stream(h);

    // b is killed while records stream: its in-flight calls fail and are retried on a.
    const streaming = stream.chunks(1_500);
    await h.until(() => h.outputs('out').length >= 300, 30_000);
    await b.kill();
    await streaming;
    await stream.answered();
    const afterOne = stream.sent;
    const scoredThroughOne = errorsOf(h, 0, afterOne).filter((e) => e === '').length;

    // Both down: error results, at once, and the stream goes on.
    await a.kill();
    const downAt = Date.now();
    await stream.chunks(100);
    await stream.answered();
    const bothDownMs = Date.now() - downAt;
    const bothDown = errorsOf(h, afterOne, stream.sent);

    // a back on its ports: scored again after its circuit's cool-down.
    await a.restart();
    await stream.untilScored();
    await stream.chunks(200);
    await stream.answered();

    const c = await check(h, stream.sent);
    recordOutcome({
      scenario: 'model server kill -9 (1 of 2, then both, then one back)',
      sent: stream.sent,
      lost: c.lost.length,
      duplicated: c.duplicated.length,
      deadLettered: h.deadLetters.length,
      errorResults: c.errors.length,
      notes: `gRPC, 2 sluice serve processes; ${scoredThroughOne}/${afterOne} scored with one killed mid-stream; both down: ${bothDown.length} error results in ${bothDownMs} ms; ${c.wrong.length} scored wrong`,
    });
    expect({ lost: c.lost, duplicated: c.duplicated, unexpected: c.unexpected, wrong: c.wrong }).toEqual({
      lost: [],
      duplicated: [],
      unexpected: [],
      wrong: [],
    });
    expect(h.outputs('out')).toHaveLength(stream.sent);
    expect(scoredThroughOne).toBe(afterOne);
    expect(bothDown.every((e) => /^model recommender-served cannot be reached: /.test(e))).toBe(true);
    // Only records sent while nothing answered carry an error (and the probes before a was back).
    expect(c.errors.length).toBeGreaterThanOrEqual(100);
    expect(errorsOf(h, stream.sent - 200, stream.sent).every((e) => e === '')).toBe(true);
  });
});

describe('fault: model servers answer too late (SIGSTOP beyond the deadline)', () => {
  it('the deadline fires, retries go to the other server, circuits open, the stream never stalls, every record exactly one result', async () => {
    const deadlineMs = 300;
    const { a, b, h } = await twoServersAndServing(
      (a, b) => `http://${a.http},${b.http}/recommender?timeout=${deadlineMs}ms&retries=2&circuit-failures=2&circuit-cooldown=500ms`,
    );
    const stream = new Stream(h);
    await stream.chunks(200);
    await stream.answered();

    // b frozen: its calls hit the deadline, are retried on a, and b's circuit opens.
    b.freeze();
    const oneAt = Date.now();
    await stream.chunks(600);
    await stream.answered();
    const oneSlowMs = Date.now() - oneAt;
    const oneSlow = errorsOf(h, 200, 800);

    // Both frozen: every record still gets a result, an error, without stalling.
    a.freeze();
    const bothAt = Date.now();
    const from = stream.sent;
    await stream.chunks(150);
    await stream.answered();
    const bothSlowMs = Date.now() - bothAt;
    const bothSlow = errorsOf(h, from, stream.sent);

    // Both answer again: scored once a circuit lets a probe through.
    a.resume();
    b.resume();
    await stream.untilScored();
    await stream.chunks(200);
    await stream.answered();

    const c = await check(h, stream.sent);
    // A failed call reports its last attempt: once the circuits are open, that is the open circuits, each naming the deadline that opened it.
    const deadlines = bothSlow.filter((e) => e.includes(`deadline of ${deadlineMs}ms exceeded`)).length;
    const circuitOpen = bothSlow.filter((e) => e.includes('no endpoint can take the call')).length;
    recordOutcome({
      scenario: 'model servers too slow (SIGSTOP beyond the deadline, 1 then 2 of 2)',
      sent: stream.sent,
      lost: c.lost.length,
      duplicated: c.duplicated.length,
      deadLettered: h.deadLetters.length,
      errorResults: c.errors.length,
      notes:
        `HTTP, ${deadlineMs} ms deadline; one frozen: ${oneSlow.filter((e) => e === '').length}/600 scored in ${oneSlowMs} ms; ` +
        `both frozen: ${bothSlow.length} error results in ${bothSlowMs} ms (${circuitOpen} 'no endpoint can take the call', ${deadlines} naming the 'deadline of ${deadlineMs}ms exceeded' that opened the circuits); ${c.wrong.length} scored wrong`,
    });
    expect({ lost: c.lost, duplicated: c.duplicated, unexpected: c.unexpected, wrong: c.wrong }).toEqual({
      lost: [],
      duplicated: [],
      unexpected: [],
      wrong: [],
    });
    expect(h.outputs('out')).toHaveLength(stream.sent);
    expect(oneSlow.every((e) => e === '')).toBe(true);
    // At least one call waited out the deadline on the frozen server before going to the other.
    expect(oneSlowMs).toBeGreaterThanOrEqual(deadlineMs);
    expect(bothSlow.every((e) => /^model recommender-served cannot be reached: /.test(e))).toBe(true);
    expect(deadlines).toBeGreaterThan(0);
    expect(circuitOpen).toBeGreaterThan(0);
    // Open circuits fail at once: 150 records do not each wait out a deadline.
    expect(bothSlowMs).toBeLessThan(15_000);
    expect(errorsOf(h, stream.sent - 200, stream.sent).every((e) => e === '')).toBe(true);
  });
});
