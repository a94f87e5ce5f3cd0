/**
 * The broker misbehaving under a running application: a nats-server restart under load, a
 * broker down at start, a malformed URL, a stream deleted under the application, a stream that
 * is full or refuses a record. The restart
 * and down-at-start tests run a nats-server of their own on a free port.
 */
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiscardPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runApplication, type StartedApplication } from '../../../src/app.js';
import { capturingLogger } from '../../support/recommender.js';
import { Doubled, NumberRecord } from './fixtures/pipeline.js';
import { deleteApplication, freePort, PrivateNats, readStream, SYSTEM_NATS, uniqueApp, until } from './support.js';

const blueprint = fileURLToPath(new URL('./fixtures/pipeline.conf', import.meta.url));
const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

afterAll(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

async function messages(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } catch {
    return -1;
  } finally {
    await nc.close();
  }
}

/** Every input of `numbers` once in `doubled`: one output per input message, linked by its id. */
async function expectEveryInputOnce(url: string, app: string, count: number): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const inputs = await readStream(nc, `sluice_${app}_numbers`, NumberRecord);
    const outputs = await readStream(nc, `sluice_${app}_doubled`, Doubled);
    // The source has no input to derive ids from: what it published twice (a PubAck lost in the
    // restart) is two inputs, each scored once.
    expect(new Set(inputs.map((i) => i.value.id)).size).toBe(count);
    expect(outputs).toHaveLength(inputs.length);
    const origins = outputs.map((o) => Number(/:(\d+)\//.exec(o.msgId ?? '')?.[1]));
    expect(new Set(origins).size).toBe(inputs.length);
    expect(new Set(outputs.map((o) => o.value.id)).size).toBe(count);
  } finally {
    await nc.close();
  }
}

/** The fixture application on the system nats-server under a unique name, stopped and deleted after the test. */
async function startOnSystemNats(prefix: string, overrides: readonly string[]) {
  const app = uniqueApp(prefix);
  cleanup.push(() => deleteApplication(SYSTEM_NATS, app));
  const { log, lines } = capturingLogger();
  const run = await runApplication({
    blueprint,
    runtime: 'nats',
    log,
    overrides: [`sluice.nats.url=${SYSTEM_NATS}`, `sluice.nats.application=${app}`, 'sluice.http.port=0', ...overrides],
  });
  cleanup.push(() => run.stop());
  return { app, run, lines };
}

describe('the nats runtime when the broker misbehaves', () => {
  it('survives a nats-server restart under load: every input once in the output, nothing lost', async () => {
    const server = await PrivateNats.start();
    cleanup.push(() => server.stop());
    const app = uniqueApp('restart');
    const { log, lines } = capturingLogger();
    const run = await runApplication({
      blueprint,
      runtime: 'nats',
      log,
      overrides: [
        `sluice.nats.url=${server.url}`,
        `sluice.nats.application=${app}`,
        'sluice.http.port=0',
        'sluice.nats.publish.timeout=1s',
        'sluice.nats.consumer.ack-wait=2s',
        'sluice.drain-timeout=60s',
        'numbers.count=8000',
        'numbers.pause-ms=10',
        'doubler.work-ms=2',
      ],
    });
    cleanup.push(() => run.stop());
    await until('outputs before the restart', async () => (await messages(server.url, `sluice_${app}_doubled`)) > 1500);
    await server.kill();
    await sleep(1_000);
    await server.restart();
    expect(await run.finished).toEqual({ ok: true });
    await expectEveryInputOnce(server.url, app, 8000);
    expect(lines().some((l) => l.msg === 'NATS connection lost; reconnecting')).toBe(true);
    expect(lines().some((l) => l.msg === 'NATS connection restored')).toBe(true);
  }, 90_000);

  it('waits for a broker that is down at start, logging every attempt, then runs', async () => {
    const port = await freePort();
    const server = new PrivateNats(port);
    cleanup.push(() => server.stop());
    const app = uniqueApp('late');
    const { log, lines } = capturingLogger();
    const starting = runApplication({
      blueprint,
      runtime: 'nats',
      log,
      overrides: [
        `sluice.nats.url=${server.url}`,
        `sluice.nats.application=${app}`,
        'sluice.http.port=0',
        'sluice.nats.connect.backoff-min=50ms',
        'numbers.count=500',
      ],
    });
    await until('two failed attempts', () => lines().filter((l) => l.msg === 'NATS not reachable; retrying').length >= 2);
    const attempt = lines().find((l) => l.msg === 'NATS not reachable; retrying');
    expect(attempt).toMatchObject({ level: 'warn', url: server.url, attempt: 1 });
    expect(String(attempt?.error)).toMatch(/ECONNREFUSED|CONNECTION_REFUSED|refused/i);
    await server.restart();
    const run: StartedApplication = await starting;
    cleanup.push(() => run.stop());
    expect(await run.finished).toEqual({ ok: true });
    expect(lines().find((l) => l.msg === 'connected to NATS')).toMatchObject({ url: server.url });
    await expectEveryInputOnce(server.url, app, 500);
  }, 60_000);

  it('gives up waiting for the broker when told to', async () => {
    const port = await freePort();
    const giveUp = new AbortController();
    const { log, lines } = capturingLogger();
    const starting = runApplication({
      blueprint,
      runtime: 'nats',
      log,
      signal: giveUp.signal,
      overrides: [`sluice.nats.url=nats://127.0.0.1:${port}`, `sluice.nats.application=${uniqueApp('never')}`, 'sluice.nats.connect.backoff-min=20ms'],
    });
    await until('a failed attempt', () => lines().some((l) => l.msg === 'NATS not reachable; retrying'));
    giveUp.abort();
    await expect(starting).rejects.toMatchObject({
      code: 'SLUICE_ERR_NATS_CONNECT',
      message: expect.stringContaining(`cannot connect to NATS at nats://127.0.0.1:${port}: gave up`),
    });
  });

  it.each([
    ['http://127.0.0.1:4222', 'scheme http: is not nats: or tls:'],
    ['nats://', 'has no host'],
    ['nats://127.0.0.1:99999', 'is not a URL'],
    ['nats://127.0.0.1:4222/path', 'a NATS URL has no path'],
    [' , ', 'names no server'],
  ])('rejects the malformed URL %j, naming sluice.nats.url', async (url, why) => {
    const run = runApplication({ blueprint, runtime: 'nats', overrides: [`sluice.nats.url=${url}`] });
    await expect(run).rejects.toMatchObject({
      code: 'SLUICE_ERR_CONFIG_INVALID',
      message: expect.stringContaining(`sluice.nats.url ${url.includes(',') ? '' : JSON.stringify(url)}`),
    });
    await expect(run).rejects.toThrow(why);
  });

  it('creates a stream deleted under the running application again, logs what was lost, and goes on', async () => {
    const { app, run, lines } = await startOnSystemNats('deleted', ['numbers.count=1000000', 'numbers.pause-ms=20']);
    const stream = `sluice_${app}_numbers`;
    await until('first outputs', async () => (await messages(SYSTEM_NATS, `sluice_${app}_doubled`)) > 200);
    const nc = await connect({ servers: SYSTEM_NATS });
    await (await jetstreamManager(nc)).streams.delete(stream);
    await nc.close();
    await until('the stream again', () => lines().some((l) => l.msg === 'stream was missing and is created anew: the records it held are lost'));
    expect(lines().find((l) => l.msg === 'stream was missing and is created anew: the records it held are lost')).toMatchObject({
      level: 'error',
      topic: 'numbers',
      stream,
    });
    await until('the consumer group again', () =>
      lines().some((l) => l.msg === 'consumer group lost on the broker (stream or consumer deleted); creating it again'),
    );
    expect(lines().find((l) => String(l.msg).startsWith('consumer group lost'))).toMatchObject({
      level: 'error',
      topic: 'numbers',
      stream,
      consumer: 'doubler-in',
    });
    const after = await messages(SYSTEM_NATS, `sluice_${app}_doubled`);
    await until('outputs from the new stream', async () => (await messages(SYSTEM_NATS, `sluice_${app}_doubled`)) > after + 200);
    expect(await run.stop()).toEqual({ ok: true });
  }, 60_000);

  it('holds publishes a full stream refuses (discard new), saying why, and stores every one once it has room', async () => {
    const { app, run, lines } = await startOnSystemNats('full', ['sluice.nats.publish.timeout=500ms', 'numbers.count=3000', 'numbers.pause-ms=5']);
    const doubled = `sluice_${app}_doubled`;
    const nc = await connect({ servers: SYSTEM_NATS });
    cleanup.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const limited = (await jsm.streams.info(doubled)).config;
    // Limited at once, while it holds far fewer: a limit below what a stream holds trims its oldest records.
    await jsm.streams.update(doubled, { ...limited, max_msgs: 1500, discard: DiscardPolicy.New });
    const refused = () => lines().find((l) => l.msg === 'the stream cannot store a publish now; sending it again');
    await until('the refusal said', () => refused() !== undefined);
    expect(refused()).toMatchObject({ level: 'warn', topic: 'doubled', stream: doubled, broker: expect.stringMatching(/maximum messages/) });
    await jsm.streams.update(doubled, { ...limited, max_msgs: -1, discard: DiscardPolicy.Old });
    expect(await run.finished).toEqual({ ok: true });
    await expectEveryInputOnce(SYSTEM_NATS, app, 3000);
  }, 60_000);

  it('fails the write of a record the stream refuses for good, naming topic, stream and reason; the application stops after its restarts', async () => {
    const { app, run, lines } = await startOnSystemNats('refused', [
      'sluice.restart.max-restarts=1',
      'sluice.restart.backoff-min=50ms',
      'numbers.count=100000',
      'numbers.pause-ms=20',
    ]);
    const nc = await connect({ servers: SYSTEM_NATS });
    cleanup.push(() => nc.close());
    const doubled = `sluice_${app}_doubled`;
    await until('first outputs', async () => (await messages(SYSTEM_NATS, doubled)) > 50);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.update(doubled, { ...(await jsm.streams.info(doubled)).config, max_msg_size: 8 });
    const outcome = await run.finished;
    expect(outcome.ok).toBe(false);
    const failed = lines().filter((l) => l.msg === 'streamlet failed; restarting' || l.msg === 'streamlet failed; no restarts left, stopping the application');
    expect(failed.map((l) => l.msg)).toEqual(['streamlet failed; restarting', 'streamlet failed; no restarts left, stopping the application']);
    for (const line of failed) {
      expect(line).toMatchObject({ level: 'error', streamlet: 'doubler' });
      expect(line.error).toMatch(new RegExp(`^publish to topic doubled \\(stream ${doubled}\\) failed: message size exceeds maximum allowed`));
    }
  }, 60_000);
});
