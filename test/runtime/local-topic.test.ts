import { describe, expect, it } from 'vitest';
import { LocalTopic } from '../../src/runtime/local/topic.js';
import { FairShare } from '../../src/util/fair-share.js';
import type { RawRecord } from '../../src/runtime/runtime.js';

const records = (from: number, count: number): RawRecord[] => Array.from({ length: count }, (_, i) => ({ payload: Buffer.from(String(from + i)) }));
const values = (batch: { records: readonly RawRecord[] } | null) => batch?.records.map((r) => Number(r.payload.toString())) ?? null;
const pull = { maxSize: 100, maxWait: 0 };

describe('LocalTopic', () => {
  it('delivers records in order to every consumer group', async () => {
    const topic = new LocalTopic('t', 10, ['a', 'b'], 1, new FairShare());
    await topic.append(records(0, 3));
    expect(values(await topic.pull('a', pull))).toEqual([0, 1, 2]);
    expect(values(await topic.pull('b', { maxSize: 2, maxWait: 0 }))).toEqual([0, 1]);
    expect(values(await topic.pull('b', pull))).toEqual([2]);
  });

  it('makes a producer wait while the slowest group has not committed: backpressure', async () => {
    const topic = new LocalTopic('t', 4, ['slow'], 1, new FairShare());
    await topic.append(records(0, 4));
    let appended = false;
    const blocked = topic.append(records(4, 2)).then(() => (appended = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(appended).toBe(false);
    expect(topic.depth).toBe(4);
    const batch = await topic.pull('slow', { maxSize: 2, maxWait: 0 });
    await new Promise((r) => setTimeout(r, 20));
    expect(appended).toBe(false); // delivered but not committed: still held
    await batch?.commit();
    await blocked;
    expect(appended).toBe(true);
    expect(topic.depth).toBe(4);
  });

  it('delivers again what was not committed when the consumer goes away', async () => {
    const topic = new LocalTopic('t', 10, ['g'], 1, new FairShare());
    await topic.append(records(0, 5));
    const first = await topic.pull('g', { maxSize: 2, maxWait: 0 });
    await first?.commit();
    const second = await topic.pull('g', { maxSize: 2, maxWait: 0 });
    expect(values(second)).toEqual([2, 3]);
    topic.rewind('g');
    await second?.commit(); // stale: from before the rewind, must not skip records
    expect(values(await topic.pull('g', pull))).toEqual([2, 3, 4]);
  });

  it('moves the committed offset only over a contiguous prefix', async () => {
    const topic = new LocalTopic('t', 4, ['g'], 1, new FairShare());
    await topic.append(records(0, 4));
    const a = await topic.pull('g', { maxSize: 2, maxWait: 0 });
    const b = await topic.pull('g', { maxSize: 2, maxWait: 0 });
    await b?.commit();
    expect(topic.depth).toBe(4);
    await a?.commit();
    expect(topic.depth).toBe(0);
  });

  it('ends for a consumer once every producer closed and everything was delivered', async () => {
    const topic = new LocalTopic('t', 10, ['g'], 2, new FairShare());
    await topic.append(records(0, 1));
    topic.closeProducer();
    expect(values(await topic.pull('g', pull))).toEqual([0]);
    const waiting = topic.pull('g', pull);
    topic.closeProducer();
    expect(await waiting).toBeNull();
  });

  it('waits up to maxWait for a batch to fill, and no longer', async () => {
    const topic = new LocalTopic('t', 10, ['g'], 1, new FairShare());
    await topic.append(records(0, 1));
    const pending = topic.pull('g', { maxSize: 3, maxWait: 200 });
    setTimeout(() => void topic.append(records(1, 2)), 10);
    expect(values(await pending)).toEqual([0, 1, 2]);
    await topic.append(records(3, 1));
    const started = Date.now();
    expect(values(await topic.pull('g', { maxSize: 3, maxWait: 30 }))).toEqual([3]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('discards records when no group reads the topic', async () => {
    const topic = new LocalTopic('t', 2, [], 1, new FairShare());
    await topic.append(records(0, 10));
    expect(topic.depth).toBe(0);
  });
});
