import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, watchPage } from '../support/browser.js';
import { root, SluiceProcess, until } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';

/** The page's `document`, as the functions run in the browser use it (the tests compile without the DOM lib). */
declare const document: {
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
  querySelectorAll(selector: string): Iterable<{ getAttribute(name: string): string | null }>;
  readonly body: { readonly dataset: Readonly<Record<string, string | undefined>> };
};

const screenshot = join(root, 'test-results', 'dashboard.png');
const streamlets = ['data-ingress', 'model-ingress', 'model-serving', 'console'];
const edges = [
  { topic: 'data-ingress-out', from: 'data-ingress', to: 'model-serving' },
  { topic: 'model-ingress-out', from: 'model-ingress', to: 'model-serving' },
  { topic: 'model-serving-out', from: 'model-serving', to: 'console' },
];

/** The rate an edge label shows, as the page keeps it in `data-rate` (records/s); NaN before the first rate. */
function edgeRate(page: Page, topic: string): Promise<number> {
  return page.$eval(`#graph g.edge[data-edge="${topic}"]`, (e) => Number.parseFloat(e.getAttribute('data-rate') || 'NaN'));
}

/** `model swapped` log lines (JSON on stderr) after the first `skip`. */
function swapsLogged(app: SluiceProcess, skip = 0): { model: string; time: number }[] {
  return app.stderr
    .split('\n')
    .filter((line) => line.includes('"msg":"model swapped"'))
    .slice(skip)
    .map((line) => {
      const entry = JSON.parse(line) as { model: string; time: string };
      return { model: entry.model, time: Date.parse(entry.time) };
    });
}

describe('the live dashboard in headless Chromium, on the recommender run by the sluice CLI', () => {
  let app: SluiceProcess;
  let browser: Browser;
  let page: Page;
  let watched: { errors: string[]; requests: string[] };
  let url: string;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'src', 'observe', 'dashboard', 'server.js'))) throw new Error('dist/ has no dashboard: run `npm run build` first');
    // The demo's two models, and a third that cannot load: its update is rejected while the current model keeps serving.
    const models = tempDir('sluice-models-');
    for (const file of ['recommender-a.onnx', 'recommender-a.json', 'recommender-b.onnx', 'recommender-b.json']) {
      copyFileSync(join(root, 'examples', 'recommender', 'models', file), join(models, file));
    }
    writeFileSync(join(models, 'recommender-z-broken.onnx'), 'not an ONNX model');
    app = new SluiceProcess([
      'run',
      'examples/recommender/recommender.conf',
      'sluice.http.port=0',
      `sluice.state-directory=${tempDir()}`,
      `model-ingress.models-directory=${models}`,
      'model-ingress.interval=1s',
      'data-ingress.records-per-second=200',
    ]);
    url = await app.url();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    watched = watchPage(page);
    await page.goto(`${url}/`, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await browser?.close();
    if (app) {
      app.child.kill('SIGTERM');
      expect((await app.finished()).code).toBe(0);
    }
  });

  it('loads the page and draws every streamlet of the blueprint and every topic edge', async () => {
    await page.waitForSelector('#graph svg g.node');
    expect(await page.title()).toBe('recommender · Sluice');
    expect(await page.$$eval('#graph g.node[data-streamlet]', (nodes) => nodes.map((n) => n.getAttribute('data-streamlet')).sort())).toEqual(
      [...streamlets].sort(),
    );
    for (const name of streamlets) {
      expect(await page.textContent(`#graph g.node[data-streamlet="${name}"] .node-name`)).toBe(name);
    }
    for (const e of edges) {
      const edge = page.locator(`#graph g.edge[data-edge="${e.topic}"][data-from="${e.from}"][data-to="${e.to}"]`);
      expect(await edge.count()).toBe(1);
      expect(await edge.locator('path').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+/);
      expect(await page.textContent(`#graph [data-edge-label="${e.topic}"] .edge-topic`)).toBe(e.topic);
    }
    expect(await page.locator('#graph g.edge').count()).toBe(edges.length);
    expect(await page.locator('#charts .chart-card[data-streamlet] canvas').count()).toBeGreaterThanOrEqual(streamlets.length);
  });

  it('updates the edge rates live', async () => {
    const topic = 'data-ingress-out';
    await page.waitForFunction((t) => Number.parseFloat(document.querySelector(`g.edge[data-edge="${t}"]`)?.getAttribute('data-rate') || '0') > 0, topic, {
      timeout: 15_000,
    });
    const first = await edgeRate(page, topic);
    expect(first).toBeGreaterThan(0);
    await page.waitForFunction(
      ([t, before]) => {
        const now = Number.parseFloat(document.querySelector(`g.edge[data-edge="${t}"]`)?.getAttribute('data-rate') || '0');
        return now > 0 && now !== before;
      },
      [topic, first] as const,
      { timeout: 15_000 },
    );
    expect(await page.textContent(`#graph [data-edge-label="${topic}"] .edge-rate`)).toMatch(/^[\d,.]+\/s/);
    expect(await page.textContent('#graph g.node[data-streamlet="model-serving"] .node-rates')).toMatch(/^in [\d,.]+\/s · out [\d,.]+\/s$/);
  });

  it('shows a model swap in the history within 2 seconds of the app logging it, and the serving model in its panel', async () => {
    const before = swapsLogged(app).length;
    await until(() => swapsLogged(app, before).length > 0, 15_000);
    const seen = Date.now();
    const [swap] = swapsLogged(app, before) as [{ model: string; time: number }];
    await page.waitForFunction(
      ({ model, time }) =>
        [...document.querySelectorAll('#swap-history li[data-kind="swap"]')].some(
          (li) => li.getAttribute('data-model') === model && Math.abs(Number(li.getAttribute('data-at')) - time) < 1_000,
        ),
      swap,
      { timeout: 2_000 },
    );
    const shownAfter = Date.now() - seen;
    expect(shownAfter).toBeLessThanOrEqual(2_000);
    const newest = page.locator('#swap-history li[data-kind="swap"]').first();
    expect(await newest.textContent()).toContain(`serves ${swap.model}`);

    const panel = page.locator('.model-panel[data-streamlet="model-serving"]');
    expect(['recommender-a', 'recommender-b']).toContain(await panel.locator('[data-field="name"]').textContent());
    expect(await panel.locator('[data-field="type"]').textContent()).toBe('ONNX');
    expect(await panel.locator('[data-field="since"]').textContent()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \(\d+ s ago\)$/);
    expect(await panel.locator('[data-field="usage"]').textContent()).toMatch(/^[\d,]+$/);
    expect(await page.textContent('#dead-letters')).toBe('0');
    expect(await page.textContent('#restarts')).toBe('0');
  });

  it('shows a rejected update in the history with its reason', async () => {
    await page.waitForSelector('#swap-history li[data-kind="rejected"][data-model="recommender-z-broken"]', { timeout: 15_000 });
    const item = page.locator('#swap-history li[data-kind="rejected"]').first();
    expect(await item.locator('.reason').textContent()).toMatch(/cannot be loaded/);
    const logged = app.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; model?: string; error?: string });
    const rejection = logged.find((entry) => entry.msg.startsWith('model update rejected') && entry.model === 'recommender-z-broken');
    expect(rejection?.error).toBeTruthy();
    expect(await item.getAttribute('data-model')).toBe('recommender-z-broken');
    expect(Number((await page.textContent('.model-panel[data-streamlet="model-serving"] [data-field="updates"]'))?.split(' / ')[1])).toBeGreaterThanOrEqual(1);
  });

  it('saves a screenshot; the page logged no error and loaded nothing from outside the app', async () => {
    // A few more snapshots, so the charts have lines.
    await page.waitForFunction(() => Number(document.body.dataset.snapshots) >= 12, undefined, { timeout: 15_000 });
    mkdirSync(join(root, 'test-results'), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(existsSync(screenshot)).toBe(true);
    expect(watched.errors).toEqual([]);
    expect(watched.requests.filter((r) => !r.startsWith(`${url}/`) && !r.startsWith('data:'))).toEqual([]);
    expect(await page.getAttribute('#status', 'data-status')).toBe('live');
  });
});
