/**
 * The whole application in one process on JetStream, against the system nats-server: topics are
 * streams, inlets consumer groups, outputs carry ids derived from their inputs, and a stop
 * drains like the local runtime does.
 */
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApplication, verifyApplication } from '../../../src/app.js';
import { capturingLogger } from '../../support/recommender.js';
import { Doubled } from './fixtures/pipeline.js';
import { deleteApplication, readStream, SYSTEM_NATS, uniqueApp } from './support.js';

const blueprint = fileURLToPath(new URL('./fixtures/pipeline.conf', import.meta.url));
const apps: string[] = [];
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: SYSTEM_NATS });
});

afterAll(async () => {
  await nc.close();
  for (const app of apps) await deleteApplication(SYSTEM_NATS, app);
});

function overrides(app: string, ...more: string[]): string[] {
  apps.push(app);
  return [`sluice.nats.url=${SYSTEM_NATS}`, `sluice.nats.application=${app}`, 'sluice.http.port=0', ...more];
}

describe('the nats runtime, whole application in one process', () => {
  it('carries every record exactly once through consumer groups, with ids derived from the inputs, and drains to the end', async () => {
    const app = uniqueApp('whole');
    const { log, lines } = capturingLogger();
    const run = await runApplication({ blueprint, runtime: 'nats', log, overrides: overrides(app, 'numbers.count=3000') });
    const outcome = await run.finished;
    expect(outcome).toEqual({ ok: true });

    const out = await readStream(nc, `sluice_${app}_doubled`, Doubled);
    expect(out).toHaveLength(3000);
    expect(new Set(out.map((o) => o.value.id)).size).toBe(3000);
    expect(out.every((o) => o.value.doubled === o.value.id * 2)).toBe(true);
    // Input n is the (n+1)-th message of the numbers stream.
    expect(out.map((o) => o.msgId).sort()).toEqual(out.map((o) => `sluice_${app}_numbers:${o.value.id + 1}/doubler.out/0`).sort());
    expect(lines().find((l) => l.msg === 'tally')).toMatchObject({ records: 3000, streamlet: 'tally' });
  });

  it('outputs not linked to an input carry no message id (at-least-once)', async () => {
    const app = uniqueApp('unlinked');
    const run = await runApplication({
      blueprint,
      runtime: 'nats',
      log: capturingLogger().log,
      overrides: overrides(app, 'numbers.count=300', 'doubler.origins=none'),
    });
    expect(await run.finished).toEqual({ ok: true });
    const out = await readStream(nc, `sluice_${app}_doubled`, Doubled);
    expect(out).toHaveLength(300);
    expect(out.every((o) => o.msgId === undefined)).toBe(true);
  });

  it.each([
    ['short', 'emit to doubler.out: 99 origin(s) for 100 value(s); give one origin per value'],
    ['foreign', 'emit to doubler.out: origin 0 is not a record read from an inlet of this streamlet (pass the values the inlet gave)'],
  ])('fails a streamlet whose origins are %s, saying what is wrong', async (origins, message) => {
    const app = uniqueApp('badorigins');
    const run = await runApplication({
      blueprint,
      runtime: 'nats',
      log: capturingLogger().log,
      overrides: overrides(
        app,
        'numbers.count=100',
        'numbers.batch=100',
        'doubler.batch-size=100',
        `doubler.origins=${origins}`,
        'sluice.restart.max-restarts=0',
      ),
    });
    const outcome = await run.finished;
    expect(outcome).toMatchObject({ ok: false, streamlet: 'doubler' });
    expect(outcome.ok ? '' : outcome.error.message).toBe(`streamlet doubler failed: ${message}`);
  });
});

describe('nats settings', () => {
  it('names streams after the application, sanitized, and reads replicas per streamlet', async () => {
    const { settings } = await verifyApplication({ blueprint, overrides: ['sluice.nats.application=my app.v2', 'sluice.nats.replicas.doubler=3'] });
    expect(settings.nats).toMatchObject({ application: 'my_app_v2', servers: ['nats://127.0.0.1:4222'], stream: { duplicateWindow: 120_000, maxBytes: 0 } });
    expect(Object.fromEntries(settings.nats.replicas)).toEqual({ numbers: 1, doubler: 3, tally: 1 });
    const byDefault = await verifyApplication({ blueprint });
    expect(byDefault.settings.nats.application).toBe('pipeline');
  });

  it('reports every wrong nats setting and replica count with its key', async () => {
    const wrong = verifyApplication({
      blueprint,
      overrides: [
        'sluice.nats.replicas.doubler=-1',
        'sluice.nats.replicas.tally=many',
        'sluice.nats.replicas.nope=2',
        'sluice.nats.stream.replicas=7',
        'sluice.nats.publish.window=0',
        'sluice.nats.stream.max-age=soon',
        'sluice.nats.bogus=1',
      ],
    });
    await expect(wrong).rejects.toMatchObject({ code: 'SLUICE_ERR_CONFIG_INVALID' });
    const message = await wrong.catch((err: Error) => err.message);
    expect(message).toContain('sluice.nats.replicas.doubler must be at least 0, got -1');
    expect(message).toContain('sluice.nats.replicas.tally expected an integer, got "many"');
    expect(message).toContain('sluice.nats.replicas.nope: the blueprint has no streamlet nope (streamlets: numbers, doubler, tally)');
    expect(message).toContain('sluice.nats.stream.replicas must be at most 5, got 7');
    expect(message).toContain('sluice.nats.publish.window must be at least 1, got 0');
    expect(message).toContain('sluice.nats.stream.max-age expected a duration such as 500ms or 10s, got "soon"');
    expect(message).toMatch(/sluice\.nats\.bogus is unknown \(known: url, application, /);
  });
});
