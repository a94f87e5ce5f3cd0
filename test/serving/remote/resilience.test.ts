/**
 * Several endpoints, for real over loopback: calls spread over them; a killed endpoint is
 * skipped (its circuit opens) and used again once it is back (half-open probe, closed); slow
 * answers hit the deadline; failed calls are retried elsewhere; with every endpoint down calls
 * fail at once, never hang.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../src/core/errors.js';
import type { LoadedModel } from '../../../src/serving/executor.js';
import type { RemoteModelType } from '../../../src/serving/remote/location.js';
import { startGrpcServer, startRestServer, type TestServer } from './servers.js';
import { expectedScores, loggedExecutor, rejection, remoteDescriptor, scorerInputs } from './support.js';

const servers: TestServer[] = [];
const models: LoadedModel[] = [];
afterEach(async () => {
  await Promise.all(models.splice(0).map((m) => m.unload()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(count: number, scheme: 'http' | 'grpc'): Promise<TestServer[]> {
  const started = await Promise.all(Array.from({ length: count }, () => (scheme === 'http' ? startRestServer() : startGrpcServer())));
  servers.push(...started);
  return started;
}

async function load(scheme: 'http' | 'grpc', list: readonly TestServer[], options: string, type: RemoteModelType = 'OPEN_INFERENCE') {
  const logged = loggedExecutor(type);
  const model = await logged.executor.load(remoteDescriptor(type, `${scheme}://${list.map((s) => s.address).join(',')}/scorer?${options}`));
  models.push(model);
  return { model, lines: logged.lines };
}

async function scoreCorrectly(model: LoadedModel, seed: number): Promise<void> {
  const inputs = scorerInputs(4, seed);
  const outputs = await model.infer(inputs);
  expect(Array.from(outputs.predictions?.data as Float32Array)).toEqual(expectedScores(inputs));
}

const inferences = (list: readonly TestServer[]) => list.map((s) => s.inferences());

describe.each(['http', 'grpc'] as const)('over %s', (scheme) => {
  it('round-robin spreads calls evenly over the endpoints', async () => {
    const list = await start(3, scheme);
    const { model } = await load(scheme, list, 'balance=round-robin');
    for (let i = 0; i < 30; i++) await scoreCorrectly(model, i);
    expect(inferences(list)).toEqual([10, 10, 10]);
  });

  it('least-outstanding sends most calls to the fast endpoint', async () => {
    const [fast, slow] = (await start(2, scheme)) as [TestServer, TestServer];
    slow.delayMs = 150;
    const { model } = await load(scheme, [fast, slow], 'balance=least-outstanding');
    let next = 0;
    const worker = async () => {
      while (next < 60) await scoreCorrectly(model, next++);
    };
    await Promise.all(Array.from({ length: 3 }, worker));
    expect(fast.inferences() + slow.inferences()).toBe(60);
    // Round-robin would give each 30; the slow endpoint only gets calls while the fast one is as busy.
    expect(slow.inferences()).toBeLessThan(fast.inferences() / 3);
  });

  it('skips a killed endpoint once its circuit opens, and sends it traffic again when it is back', async () => {
    const [a, b] = (await start(2, scheme)) as [TestServer, TestServer];
    const { model, lines } = await load(scheme, [a, b], 'circuit-failures=2&circuit-cooldown=300ms');
    for (let i = 0; i < 4; i++) await scoreCorrectly(model, i);
    expect(inferences([a, b])).toEqual([2, 2]);

    await b.stop();
    // Every call succeeds: those that pick the dead endpoint are retried on the live one.
    for (let i = 0; i < 10; i++) await scoreCorrectly(model, i);
    expect(a.inferences()).toBe(12);
    const opened = lines().filter((l) => l.to === 'open');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ level: 'warn', msg: `circuit of ${scheme}://${b.address} is open`, model: 'remote-model', executor: 'OPEN_INFERENCE' });

    await b.restart();
    const before = b.inferences();
    const deadline = Date.now() + 10_000;
    while (b.inferences() === before && Date.now() < deadline) {
      await scoreCorrectly(model, 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(b.inferences()).toBeGreaterThan(before);
    // Closed again: the endpoint is back in the rotation.
    const afterProbe = inferences([a, b]);
    for (let i = 0; i < 6; i++) await scoreCorrectly(model, i);
    expect(inferences([a, b]).map((n, i) => n - (afterProbe[i] as number))).toEqual([3, 3]);
    expect(
      lines()
        .map((l) => l.to)
        .filter(Boolean),
    ).toEqual(expect.arrayContaining(['open', 'half-open', 'closed']));
  });

  it('fails a call that outlives its deadline, naming the endpoint and the deadline', async () => {
    const [s] = (await start(1, scheme)) as [TestServer];
    const { model } = await load(scheme, [s], 'timeout=100ms&retries=0');
    s.hang = true;
    const err = await rejection(model.infer(scorerInputs(2)));
    expect(isSluiceError(err, 'SLUICE_ERR_MODEL_UNREACHABLE')).toBe(true);
    expect(err.message).toBe(`model remote-model cannot be reached: 1 attempt(s) failed: ${scheme}://${s.address}: deadline of 100ms exceeded`);
  });

  it('retries a call that an overloaded endpoint refuses on another endpoint', async () => {
    const [busy, free] = (await start(2, scheme)) as [TestServer, TestServer];
    const { model } = await load(scheme, [busy, free], 'retries=1');
    busy.failure = scheme === 'http' ? { code: 503, message: 'overloaded' } : { code: 14, message: 'overloaded' };
    for (let i = 0; i < 4; i++) await scoreCorrectly(model, i);
    expect(inferences([busy, free])).toEqual([2, 4]);
  });

  it('retries on the same endpoint when it is the only one, then gives up naming every attempt', async () => {
    const [s] = (await start(1, scheme)) as [TestServer];
    const { model } = await load(scheme, [s], 'retries=2&circuit-failures=10');
    s.failure = scheme === 'http' ? { code: 503, message: 'overloaded' } : { code: 8, message: 'queue full' };
    const err = await rejection(model.infer(scorerInputs(2)));
    expect(s.inferences()).toBe(3);
    const why = scheme === 'http' ? 'HTTP 503: {"error":"overloaded"}' : 'gRPC RESOURCE_EXHAUSTED: queue full';
    expect(err.message).toBe(
      `model remote-model cannot be reached: 3 attempt(s) failed: ${[1, 2, 3].map(() => `${scheme}://${s.address}: ${why}`).join('; ')}`,
    );
  });

  it('with every endpoint down, fails calls at once with the circuits named, and never hangs', async () => {
    const list = await start(2, scheme);
    const { model } = await load(scheme, list, 'circuit-failures=2&circuit-cooldown=60s');
    await Promise.all(list.map((s) => s.stop()));
    const errors = [];
    for (let i = 0; i < 20; i++) errors.push(await rejection(model.infer(scorerInputs(1))));
    for (const err of errors) expect(isSluiceError(err, 'SLUICE_ERR_MODEL_UNREACHABLE')).toBe(true);
    expect(errors[0]?.message).toMatch(/attempt\(s\) failed: .*(connection refused|UNAVAILABLE)/);
    const last = errors.at(-1)?.message ?? '';
    expect(last).toContain('no endpoint can take the call: ');
    for (const s of list) expect(last).toContain(`${scheme}://${s.address} circuit open after 2 consecutive failure(s)`);
  });

  it('loads while one endpoint is down, logging it, and refuses to load when all are', async () => {
    const [up, down] = (await start(2, scheme)) as [TestServer, TestServer];
    await down.stop();
    const { model, lines } = await load(scheme, [up, down], '');
    expect(model.metadata().outputs.map((o) => o.name)).toEqual(['predictions']);
    expect(lines().find((l) => l.level === 'warn')).toMatchObject({
      msg: 'model loaded, but some endpoints are unreachable; calls go to the others until they answer',
    });
    await scoreCorrectly(model, 1);

    await up.stop();
    const err = await rejection(load(scheme, [up, down], 'load-timeout=2s'));
    expect(isSluiceError(err, 'SLUICE_ERR_MODEL_INVALID')).toBe(true);
    expect(err.message).toContain(`no endpoint is reachable: ${scheme}://${up.address}: `);
    expect(err.message).toContain(`; ${scheme}://${down.address}: `);
  });
});

it('refuses to load when the endpoints serve different signatures', async () => {
  const a = await startRestServer({ echoDatatype: 'FP32' });
  const b = await startRestServer({ echoDatatype: 'INT32' });
  servers.push(a, b);
  const err = await rejection(loggedExecutor('OPEN_INFERENCE').executor.load(remoteDescriptor('OPEN_INFERENCE', `http://${a.address},${b.address}/echo`)));
  expect(isSluiceError(err, 'SLUICE_ERR_MODEL_INVALID')).toBe(true);
  expect(err.message).toContain(
    `the endpoints serve different signatures: http://${a.address} (x:float32[?,2]) -> (y:float32[?,2]), http://${b.address} (x:int32[?,2])`,
  );
});

it('stops a call its caller aborts', async () => {
  const [s] = (await start(1, 'http')) as [TestServer];
  const { model } = await load('http', [s], 'timeout=30s');
  s.hang = true;
  const abort = new AbortController();
  const pending = rejection(model.infer(scorerInputs(1), { signal: abort.signal }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  abort.abort(new Error('the stream stopped'));
  expect((await pending).message).toBe('the stream stopped');
});
