import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecommenderResultSchema } from '../../examples/recommender/schemas.js';
import recommender from '../../examples/recommender/streamlets.js';
import { runApplication, type StartedApplication } from '../../src/app.js';
import { createLogger } from '../../src/core/log.js';
import { defineStreamlet } from '../../src/core/streamlet.js';
import { ModelHistory } from '../../src/observe/dashboard/history.js';
import type { GraphView, ServingState, Snapshot } from '../../src/observe/dashboard/protocol.js';
import { until } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';

interface Frame {
  readonly event?: string;
  readonly data?: string;
  readonly retry?: number;
}

/** Reads server-sent event frames from a response until `enough` says stop; checks the wire format on the way. */
async function readFrames(response: Response, enough: (frames: readonly Frame[]) => boolean): Promise<{ frames: Frame[]; ended: boolean }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { frames, ended: true };
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const frame: { event?: string; data?: string; retry?: number } = {};
        for (const line of block.split('\n')) {
          const match = /^(event|data|retry): (.*)$/.exec(line);
          if (!match) throw new Error(`not an SSE field line: ${JSON.stringify(line)}`);
          if (match[1] === 'retry') frame.retry = Number(match[2]);
          else if (match[1] === 'data') frame.data = (frame.data === undefined ? '' : `${frame.data}\n`) + match[2];
          else frame.event = match[2];
        }
        frames.push(frame);
        if (enough(frames)) return { frames, ended: false };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** The recommender demo, with a console that keeps quiet: the test output stays readable. */
const QuietConsole = defineStreamlet({
  description: 'Reads results and prints nothing',
  inlets: { in: RecommenderResultSchema },
  async run(ctx) {
    for await (const _batch of ctx.inlet('in').batches());
  },
});

function runRecommender(overrides: readonly string[]): Promise<StartedApplication> {
  return runApplication({
    blueprint: 'examples/recommender/recommender.conf',
    overrides: ['sluice.http.port=0', `sluice.state-directory=${tempDir()}`, ...overrides],
    packages: { recommender: { ...recommender, ConsoleEgress: QuietConsole } },
    log: createLogger({ level: 'silent' }),
  });
}

const snapshots = (frames: readonly Frame[]) => frames.filter((f) => f.event === 'snapshot').map((f) => JSON.parse(f.data ?? '') as Snapshot);

describe('the dashboard endpoints of a running application', () => {
  let app: StartedApplication;

  beforeAll(async () => {
    app = await runRecommender(['model-ingress.interval=300ms', 'data-ingress.records-per-second=200']);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('GET /dashboard/graph gives every streamlet with its class and every topic with producers and consumers', async () => {
    const response = await fetch(`${app.url}/dashboard/graph`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const graph = (await response.json()) as GraphView;
    expect(graph.application).toBe('recommender');
    expect(graph.streamlets.map((s) => [s.name, s.className])).toEqual([
      ['data-ingress', 'recommender.DataIngress'],
      ['model-ingress', 'recommender.ModelIngress'],
      ['model-serving', 'recommender.ModelServing'],
      ['console', 'recommender.ConsoleEgress'],
    ]);
    expect(graph.streamlets.find((s) => s.name === 'model-serving')).toMatchObject({ inlets: ['in-0', 'in-1'], outlets: expect.arrayContaining(['out']) });
    expect(graph.topics).toEqual([
      { name: 'data-ingress-out', producers: [{ streamlet: 'data-ingress', outlet: 'out' }], consumers: [{ streamlet: 'model-serving', inlet: 'in-0' }] },
      { name: 'model-ingress-out', producers: [{ streamlet: 'model-ingress', outlet: 'out' }], consumers: [{ streamlet: 'model-serving', inlet: 'in-1' }] },
      { name: 'model-serving-out', producers: [{ streamlet: 'model-serving', outlet: 'out' }], consumers: [{ streamlet: 'console', inlet: 'in' }] },
    ]);
  });

  it('GET / serves a self-contained page: its script and stylesheet come from the app, not the internet', async () => {
    const html = await fetch(`${app.url}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const text = await html.text();
    expect(text).toContain('<meta charset="utf-8">');
    const urls = [...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual(['data:,', '/dashboard/app.css', '/dashboard/app.js']);

    const js = await fetch(`${app.url}/dashboard/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const bundle = await js.text();
    expect(bundle.length).toBeGreaterThan(20_000);
    expect(bundle).not.toMatch(/(?:import\s*\(|from\s*)["']https?:/);
    const css = await fetch(`${app.url}/dashboard/app.css`);
    expect(css.status).toBe(200);
    expect(await css.text()).toContain('.uplot');
  });

  it('GET /dashboard/events streams snapshot frames with counters, topic depths, the serving model and its swaps', async () => {
    const response = await fetch(`${app.url}/dashboard/events`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toMatch(/no-cache/);
    // Until two swaps are in the history and the records counted have moved.
    const { frames } = await readFrames(response, (f) => {
      const s = snapshots(f);
      return s.length >= 3 && (s.at(-1)?.history.filter((e) => e.kind === 'swap').length ?? 0) >= 2;
    });
    await response.body?.cancel();

    expect(frames[0]).toEqual({ retry: 2000 });
    expect(frames.slice(1).every((f) => f.event === 'snapshot' && f.retry === undefined)).toBe(true);
    const all = snapshots(frames);
    const times = all.map((s) => s.time);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const last = all.at(-1) as Snapshot;
    expect(Object.keys(last.streamlets)).toEqual(['data-ingress', 'model-ingress', 'model-serving', 'console']);
    expect(Object.keys(last.topics)).toEqual(['data-ingress-out', 'model-ingress-out', 'model-serving-out']);
    for (const topic of Object.values(last.topics)) expect(typeof topic.depth).toBe('number');
    const serving = last.streamlets['model-serving'];
    expect(serving?.in['in-0']).toBeGreaterThan(all[0]?.streamlets['model-serving']?.in['in-0'] ?? Infinity);
    expect(serving?.in['in-1']).toBeGreaterThanOrEqual(2);
    expect(serving?.modelCalls?.count).toBeGreaterThan(0);
    expect(last.streamlets['data-ingress']?.out.out).toBeGreaterThan(0);
    expect(last.streamlets['console']).toMatchObject({ deadLetters: 0, restarts: 0 });
    expect(last.streamlets['console']?.state).toBeUndefined();
    const state = serving?.state as ServingState;
    expect(['recommender-a', 'recommender-b', 'recommender-pmml', 'recommender-tfjs']).toContain(state.name);
    const swaps = last.history.filter((e) => e.kind === 'swap');
    expect(swaps[0]).toMatchObject({ kind: 'swap', streamlet: 'model-serving', model: state.name, modelType: state.modelType, at: state.since });
    expect(swaps.at(-1)).toMatchObject({ previous: null });
    expect(swaps.map((s) => s.at)).toEqual([...swaps.map((s) => s.at)].sort((a, b) => b - a));
  });

  it('ends open event streams when the application stops', async () => {
    const own = await runRecommender(['model-ingress.initial-delay=1h']);
    const response = await fetch(`${own.url}/dashboard/events`);
    let seen: readonly Frame[] = [];
    const reading = readFrames(response, (frames) => {
      seen = frames;
      return false;
    });
    await until(() => snapshots(seen).length >= 1, 10_000);
    const stopped = Date.now();
    expect((await own.stop()).ok).toBe(true);
    const { frames, ended } = await reading;
    expect(ended).toBe(true);
    expect(snapshots(frames).length).toBeGreaterThanOrEqual(1);
    expect(Date.now() - stopped).toBeLessThan(10_000);
  });
});

describe('the model history', () => {
  const state = (name: string | null, since: number | null, rejected: { modelName: string; at: number }[] = [], count = rejected.length): ServingState => ({
    name,
    description: name && `${name} model`,
    modelType: name && 'ONNX',
    since,
    usage: 0,
    min: 0,
    max: 0,
    updates: { accepted: 0, rejected: count, lastRejected: rejected.map((r) => ({ ...r, modelType: 'ONNX', reason: `bad ${r.modelName}` })) },
  });

  it('records a swap when the name or since changes, and nothing while no model serves', () => {
    const history = new ModelHistory();
    history.observe('s', state(null, null));
    expect(history.events()).toEqual([]);
    history.observe('s', state('a', 100));
    history.observe('s', state('a', 100));
    history.observe('s', state('b', 200));
    history.observe('s', state('b', 300));
    expect(history.events().map((e) => (e.kind === 'swap' ? [e.model, e.at, e.previous] : []))).toEqual([
      ['b', 300, 'b'],
      ['b', 200, 'a'],
      ['a', 100, null],
    ]);
  });

  it('records each new rejection once, with its reason, also when several happened between two looks', () => {
    const history = new ModelHistory();
    history.observe('s', state('a', 100, [{ modelName: 'x', at: 150 }]));
    history.observe('s', state('a', 100, [{ modelName: 'x', at: 150 }]));
    history.observe(
      's',
      state('a', 100, [
        { modelName: 'z', at: 170 },
        { modelName: 'y', at: 160 },
        { modelName: 'x', at: 150 },
      ]),
    );
    expect(history.events().map((e) => [e.kind, e.model, e.at])).toEqual([
      ['rejected', 'z', 170],
      ['rejected', 'y', 160],
      ['rejected', 'x', 150],
      ['swap', 'a', 100],
    ]);
    expect(history.events()[0]).toMatchObject({ reason: 'bad z', modelType: 'ONNX', streamlet: 's' });
  });

  it('keeps the newest 50 events', () => {
    const history = new ModelHistory();
    for (let i = 1; i <= 60; i++) history.observe('s', state(`m${i}`, i));
    const events = history.events();
    expect(events).toHaveLength(50);
    expect(events[0]).toMatchObject({ model: 'm60' });
    expect(events.at(-1)).toMatchObject({ model: 'm11' });
  });
});
