import { describe, expect, it } from 'vitest';
import { createApplication } from '../../src/blueprint/application.js';
import { config } from '../../src/core/config.js';
import { SluiceError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/log.js';
import { defineSchema, type Schema } from '../../src/core/schema.js';
import { defineStreamlet, outlet, type AnyStreamlet } from '../../src/core/streamlet.js';
import { startApplication, type HostSettings } from '../../src/runtime/host.js';
import { groupName, LocalRuntime } from '../../src/runtime/local/runtime.js';
import { capturingLogger } from '../support/recommender.js';

const Numbered = defineSchema({
  type: 'record',
  name: 'Numbered',
  fields: [
    { name: 'key', type: 'string' },
    { name: 'n', type: 'long' },
  ],
} as const);

const Source = defineStreamlet({
  description: 'emits `count` numbered records over 10 keys, then ends',
  outlets: { out: outlet(Numbered, (r) => r.key) },
  config: {
    count: config.integer({ description: 'records', default: 1000 }),
    forever: config.boolean({ description: 'keep going until stopped', default: false }),
  },
  async run(ctx) {
    for (let n = 0; n < ctx.config.count || (ctx.config.forever && !ctx.signal.aborted); n++) {
      await ctx.emit('out', { key: `k${n % 10}`, n });
    }
  },
});

function collector(into: { n: number; key: string }[]): AnyStreamlet {
  return defineStreamlet({
    description: 'collects what it reads',
    inlets: { in: Numbered },
    async run(ctx) {
      for await (const r of ctx.inlet('in')) into.push(r);
    },
  });
}

/** Passes records through; throws once per entry of `failAt` the first time it reaches that record. */
function flaky(failAt: Set<number>, attempts: { count: number }): AnyStreamlet {
  return defineStreamlet({
    description: 'fails on chosen records, once each',
    inlets: { in: Numbered },
    outlets: { out: outlet(Numbered) },
    async run(ctx) {
      attempts.count++;
      for await (const batch of ctx.inlet('in').batches({ maxSize: 50 })) {
        for (const r of batch) {
          if (failAt.delete(r.n)) throw new Error(`boom at ${r.n}`);
        }
        await ctx.emitAll('out', batch);
      }
    },
  });
}

const settings: HostSettings = {
  http: { host: '127.0.0.1', port: 0 },
  drainTimeout: 5_000,
  restart: { maxRestarts: 3, backoffMin: 5, backoffMax: 20 },
  batch: { maxSize: 512, maxWait: 0 },
};

async function run(
  streamlets: Record<string, AnyStreamlet>,
  wiring: [string, string][],
  options: { config?: Record<string, Record<string, unknown>>; settings?: Partial<HostSettings>; log?: ReturnType<typeof createLogger> } = {},
) {
  const topics = wiring.map(([from, to]) => {
    const [ps, po] = from.split('.') as [string, string];
    const [cs, ci] = to.split('.') as [string, string];
    return {
      name: `${ps}-${po}`,
      schema: (streamlets[ps]?.outlets[po]?.schema ?? Numbered) as Schema,
      producers: [{ streamlet: ps, outlet: po }],
      consumers: [{ streamlet: cs, inlet: ci }],
    };
  });
  const application = createApplication(
    'test',
    Object.entries(streamlets).map(([name, definition]) => ({ name, className: `test.${name}`, definition })),
    topics,
  );
  const runtime = new LocalRuntime({
    capacity: 64,
    topics: topics.map((t) => ({ name: t.name, producers: 1, groups: t.consumers.map((c) => groupName({ topic: t.name, ...c })) })),
  });
  const streamletSettings = new Map(
    Object.keys(streamlets).map((name) => [name, { config: { count: 1000, forever: false, ...options.config?.[name] }, volumes: {} }]),
  );
  return startApplication({
    application,
    runtime,
    settings: { ...settings, ...options.settings },
    streamlets: streamletSettings,
    log: options.log ?? createLogger({ level: 'silent' }),
  });
}

describe('the application host', () => {
  it('keeps per-key order end to end and ends when the sources end', async () => {
    const seen: { n: number; key: string }[] = [];
    const app = await run({ source: Source, sink: collector(seen) }, [['source.out', 'sink.in']]);
    expect(await app.finished).toEqual({ ok: true });
    expect(seen.map((r) => r.n)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    for (let k = 0; k < 10; k++) {
      const ns = seen.filter((r) => r.key === `k${k}`).map((r) => r.n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
  });

  it('restarts a failing streamlet with backoff from its last commit: nothing is lost', async () => {
    const seen: { n: number; key: string }[] = [];
    const attempts = { count: 0 };
    const { log, lines } = capturingLogger();
    const app = await run(
      { source: Source, flaky: flaky(new Set([120, 610]), attempts), sink: collector(seen) },
      [
        ['source.out', 'flaky.in'],
        ['flaky.out', 'sink.in'],
      ],
      { log },
    );
    expect(await app.finished).toEqual({ ok: true });
    expect(attempts.count).toBe(3);
    // At-least-once: every record arrives; the ones around a failure may arrive twice.
    expect(new Set(seen.map((r) => r.n)).size).toBe(1000);
    const restarts = lines().filter((l) => l.msg === 'streamlet failed; restarting');
    expect(restarts.map((l) => [l.streamlet, l.error, l.attempt])).toEqual([
      ['flaky', 'boom at 120', 1],
      ['flaky', 'boom at 610', 2],
    ]);
  });

  it('stops the application, naming the streamlet, once its restarts are used up', async () => {
    const attempts = { count: 0 };
    const failures = new Set(Array.from({ length: 100 }, (_, i) => i));
    const { log, lines } = capturingLogger();
    const app = await run(
      { source: Source, flaky: flaky(failures, attempts), sink: collector([]) },
      [
        ['source.out', 'flaky.in'],
        ['flaky.out', 'sink.in'],
      ],
      {
        log,
        settings: { restart: { maxRestarts: 2, backoffMin: 1, backoffMax: 5 } },
        config: { source: { forever: true } },
      },
    );
    const outcome = await app.finished;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.streamlet).toBe('flaky');
      expect(outcome.error.message).toBe('streamlet flaky failed: boom at 2');
    }
    expect(attempts.count).toBe(3);
    expect(lines().some((l) => l.msg === 'streamlet failed; no restarts left, stopping the application' && l.streamlet === 'flaky')).toBe(true);
  });

  it('does not restart a streamlet whose configuration is invalid: it would fail the same way', async () => {
    let attempts = 0;
    const misconfigured = defineStreamlet({
      description: 'rejects its configuration when it starts',
      inlets: { in: Numbered },
      async run() {
        attempts++;
        throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: 'misconfigured.strategy', message: 'canary needs candidates' });
      },
    });
    const { log, lines } = capturingLogger();
    const app = await run({ source: Source, misconfigured }, [['source.out', 'misconfigured.in']], { log, config: { source: { forever: true } } });
    const outcome = await app.finished;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.message).toBe('streamlet misconfigured failed: misconfigured.strategy: canary needs candidates');
    expect(attempts).toBe(1);
    expect(lines().some((l) => l.msg === 'streamlet configuration is invalid; stopping the application')).toBe(true);
  });

  it('drains in-flight work on stop: a stopped source loses nothing it emitted', async () => {
    const seen: { n: number; key: string }[] = [];
    const app = await run({ source: Source, sink: collector(seen) }, [['source.out', 'sink.in']], { config: { source: { forever: true, count: 0 } } });
    await new Promise((r) => setTimeout(r, 50));
    expect(await app.stop()).toEqual({ ok: true });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.map((r) => r.n)).toEqual(Array.from({ length: seen.length }, (_, i) => i));
  });

  it('ends a streamlet that does not finish within the drain timeout', async () => {
    const Stuck = defineStreamlet({
      description: 'ignores the stop signal',
      async run() {
        await new Promise(() => undefined);
      },
    });
    const app = await run({ stuck: Stuck }, [], { settings: { drainTimeout: 100 } });
    const started = Date.now();
    const outcome = await Promise.race([app.stop(), new Promise((r) => setTimeout(() => r('hung'), 3_000))]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    // A run() that ignores every signal cannot be forced to return; stop still resolves.
    expect(outcome).not.toBe('hung');
  });

  it('dead-letters a record its producer emits that does not match the outlet schema', async () => {
    const Bad = defineStreamlet({
      description: 'emits one bad and one good record',
      outlets: { out: outlet(Numbered) },
      async run(ctx) {
        await ctx.emitAll('out', [{ key: 'x', n: 'not a number' } as never, { key: 'y', n: 2 }]);
      },
    });
    const seen: { n: number; key: string }[] = [];
    const { log, lines } = capturingLogger();
    const app = await run({ bad: Bad, sink: collector(seen) }, [['bad.out', 'sink.in']], { log });
    await app.finished;
    expect(seen).toEqual([{ key: 'y', n: 2 }]);
    expect(app.deadLetters.total).toBe(1);
    const letter = lines().find((l) => l.msg === 'record dead-lettered');
    expect(letter?.reason).toBe('record for bad.out does not match schema Numbered: n: "not a number" is not a valid long');
  });
});
