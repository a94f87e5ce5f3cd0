/**
 * `sluice run --runtime nats`: one process per streamlet replica under a supervisor, against the
 * system nats-server. A replica killed with SIGKILL under load is restarted and the output holds
 * every input exactly once; `sluice scale` and `sluice status` work on the running application.
 * Runs the real CLI (bin/sluice.js loads dist/: build first).
 */
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice, SluiceProcess } from '../../support/cli.js';
import { Doubled, NumberRecord } from './fixtures/pipeline.js';
import { deleteApplication, readStream, SYSTEM_NATS, uniqueApp, until } from './support.js';

const blueprint = fileURLToPath(new URL('./fixtures/pipeline.conf', import.meta.url));
const apps: string[] = [];
const processes: SluiceProcess[] = [];
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: SYSTEM_NATS });
});

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await nc.close();
  for (const app of apps) await deleteApplication(SYSTEM_NATS, app);
});

interface StatusJson {
  streamlets: { name: string; wanted?: number; replicas: { replica: string; pid: number; url: string }[] }[];
  inlets: { streamlet: string; inlet: string; pending?: number; unacknowledged?: number }[];
}

async function status(app: string): Promise<StatusJson> {
  const done = await sluice(['status', app, '--nats-url', SYSTEM_NATS, '--json']);
  expect(done.stderr).toBe('');
  return JSON.parse(done.stdout) as StatusJson;
}

const replicasOf = (s: StatusJson, streamlet: string) => s.streamlets.find((x) => x.name === streamlet)?.replicas ?? [];

describe('sluice run --runtime nats: a process per replica', () => {
  it('restarts a replica killed under load; the output holds every input exactly once; scale and status follow', async () => {
    const app = uniqueApp('procs');
    apps.push(app);
    const count = 15000;
    const supervisor = new SluiceProcess([
      'run',
      blueprint,
      '--runtime',
      'nats',
      '--nats-url',
      SYSTEM_NATS,
      '--log-format',
      'json',
      `sluice.nats.application=${app}`,
      'sluice.nats.replicas.doubler=2',
      'sluice.nats.consumer.ack-wait=2s',
      'sluice.restart.backoff-min=200ms',
      `numbers.count=${count}`,
      'numbers.pause-ms=25',
      'doubler.work-ms=5',
    ]);
    processes.push(supervisor);
    await supervisor.waitFor(/3 streamlets starting on NATS/, 'stderr');
    await until('two doubler replicas', async () => replicasOf(await status(app), 'doubler').length === 2);
    const jsm = await jetstreamManager(nc);
    const stored = async (topic: string) => (await jsm.streams.info(`sluice_${app}_${topic}`)).state.messages;
    await until('outputs flowing', async () => (await stored('doubled')) > 1000);

    // Under load: records delivered to it and not committed come back to the other replica.
    const victim = replicasOf(await status(app), 'doubler')[0];
    expect(victim).toBeDefined();
    process.kill(victim?.pid ?? 0, 'SIGKILL');
    await supervisor.waitFor(new RegExp(`"replica":"${victim?.replica}".*"signal":"SIGKILL".*"msg":"replica exited; restarting"`), 'stderr');
    await until('the killed replica back', async () =>
      replicasOf(await status(app), 'doubler').some((r) => r.replica === victim?.replica && r.pid !== victim.pid),
    );

    const scaled = await sluice(['scale', app, 'doubler', '3', '--nats-url', SYSTEM_NATS]);
    expect(scaled).toMatchObject({ code: 0, stdout: 'doubler: 3 replicas (was 2)\n' });
    await until('three doubler replicas', async () => replicasOf(await status(app), 'doubler').length === 3);

    await until('every input processed', async () => {
      const s = await status(app);
      const doubler = s.inlets.find((i) => i.streamlet === 'doubler');
      return (await stored('numbers')) === count && doubler?.pending === 0 && doubler.unacknowledged === 0;
    });
    const inputs = await readStream(nc, `sluice_${app}_numbers`, NumberRecord);
    const outputs = await readStream(nc, `sluice_${app}_doubled`, Doubled);
    expect(inputs).toHaveLength(count);
    expect(outputs).toHaveLength(count);
    expect(new Set(outputs.map((o) => o.value.id)).size).toBe(count);
    expect(new Set(outputs.map((o) => o.msgId)).size).toBe(count);
    // More than one process did the work.
    expect(new Set(outputs.map((o) => o.value.by)).size).toBeGreaterThanOrEqual(2);

    let text = '';
    await until('the status text', async () => {
      text = (await sluice(['status', app, '--nats-url', SYSTEM_NATS])).stdout;
      return /doubler \(t\.Doubler\): 3 running, 3 wanted/.test(text);
    });
    expect(text).toContain(`application ${app} (${blueprint})`);
    expect(text).toMatch(/doubler-[012]: pid \d+ on .+, http:\/\/127\.0\.0\.1:\d+/);
    expect(text).toMatch(/doubler\.in ← numbers: 0 waiting, 0 delivered and not yet committed/);

    supervisor.child.kill('SIGTERM');
    const done = await supervisor.finished(30_000);
    expect(done.code).toBe(0);
    expect(done.stderr).toContain('sluice: stopped');
    await until('no replica reported', async () => (await status(app)).streamlets.every((s) => s.replicas.length === 0), 15_000);
  }, 120_000);

  it('replicas stop by themselves when their supervisor is killed outright', async () => {
    const app = uniqueApp('orphans');
    apps.push(app);
    const supervisor = new SluiceProcess([
      'run',
      blueprint,
      '--runtime',
      'nats',
      '--nats-url',
      SYSTEM_NATS,
      '--log-format',
      'json',
      `sluice.nats.application=${app}`,
      'numbers.count=0',
    ]);
    processes.push(supervisor);
    await supervisor.waitFor(/3 streamlets starting on NATS/, 'stderr');
    await until('doubler and tally running', async () => {
      const s = await status(app);
      return replicasOf(s, 'doubler').length === 1 && replicasOf(s, 'tally').length === 1;
    });
    const pids = (await status(app)).streamlets.flatMap((s) => s.replicas.map((r) => r.pid));
    supervisor.child.kill('SIGKILL');
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until('every replica gone', () => pids.every((pid) => !alive(pid)), 20_000);
    expect((await status(app)).streamlets.every((s) => s.replicas.length === 0)).toBe(true);
  }, 60_000);

  it('--in-process runs every streamlet in one process on JetStream and exits once everything is read', async () => {
    const app = uniqueApp('inproc');
    apps.push(app);
    const done = await sluice([
      'run',
      blueprint,
      '--runtime',
      'nats',
      '--in-process',
      '--nats-url',
      SYSTEM_NATS,
      `sluice.nats.application=${app}`,
      'sluice.http.port=0',
      'numbers.count=500',
    ]);
    expect(done).toMatchObject({ code: 0, stderr: expect.stringContaining(`3 streamlets running on NATS (${app})`) });
    expect(done.stderr).toContain('sluice: stopped');
    const outputs = await readStream(nc, `sluice_${app}_doubled`, Doubled);
    expect(new Set(outputs.map((o) => o.value.id)).size).toBe(500);
  }, 60_000);

  it('rejects wrong arguments of run, scale and status with clear messages', async () => {
    expect(await sluice(['run', blueprint, '--runtime', 'kafka'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--runtime must be local or nats, got "kafka"'),
    });
    expect(await sluice(['run', blueprint, '--streamlet', 'doubler'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--streamlet needs --runtime nats'),
    });
    expect(await sluice(['run', blueprint, '--runtime', 'nats', '--streamlet', 'nope', `sluice.nats.application=${uniqueApp('bad')}`])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no streamlet nope in'),
    });
    expect(await sluice(['run', blueprint, '--runtime', 'nats', '--nats-url', 'http://x:1'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('sluice.nats.url "http://x:1": scheme http: is not nats: or tls:'),
    });
    expect(await sluice(['scale', 'app', 'doubler', 'many'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('replicas must be a whole number from 0 to 1000, got "many"'),
    });
    expect(await sluice(['scale', 'app'])).toMatchObject({ code: 2, stderr: expect.stringContaining('expected <application> <streamlet> <replicas>') });
    const none = uniqueApp('none');
    expect(await sluice(['status', none, '--nats-url', SYSTEM_NATS])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`no application ${none} on this broker`),
    });
    expect(await sluice(['status', 'x', '--nats-url', 'nats://127.0.0.1:1'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('cannot connect to NATS at nats://127.0.0.1:1'),
    });
    expect(await sluice(['status', 'x', '--nats-url', 'tcp://h'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--nats-url "tcp://h": scheme tcp: is not nats: or tls:'),
    });
  }, 60_000);
});
