/**
 * The live dashboard, served on the application's HTTP port:
 *
 *   GET /                   the page
 *   GET /dashboard/app.js   the bundled client (uPlot, dagre; nothing from the internet)
 *   GET /dashboard/app.css
 *   GET /dashboard/graph    the blueprint as JSON (streamlets, topics with producers and consumers)
 *   GET /dashboard/events   server-sent events: a `snapshot` about every 500 ms
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Application } from '../../blueprint/application.js';
import { messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { sendJson, type EndpointServer } from '../../runtime/endpoints.js';
import type { ApplicationMetrics } from '../metrics.js';
import type { DashboardAssets } from './build.js';
import { DashboardCollector, graphView } from './collector.js';
import { page } from './page.js';

export interface DashboardOptions {
  readonly application: Application;
  readonly metrics: ApplicationMetrics;
  readonly log: Logger;
  /** Time between snapshots (ms). */
  readonly interval?: number;
  /** Event streams open at once; more are refused with 503. */
  readonly maxClients?: number;
}

export interface Dashboard {
  /** Event streams open now. */
  readonly clients: number;
  /** Ends the event streams and the timer; the endpoint server closing does it too. */
  close(): void;
}

interface Client {
  readonly response: ServerResponse;
  /** The socket's buffer is full: frames are skipped until it drains, never queued. */
  blocked: boolean;
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}

const OWNER = 'sluice-dashboard';

/**
 * Installs the dashboard's endpoints. A timer reads the streamlets' `/state` views every
 * interval, so model swaps are in the history even before a page opens; the metrics are read
 * and a snapshot sent only while some page listens.
 */
export function installDashboard(endpoints: EndpointServer, options: DashboardOptions): Dashboard {
  const { application, metrics, log } = options;
  const interval = options.interval ?? 500;
  const maxClients = options.maxClients ?? 32;
  const collector = new DashboardCollector(application, metrics.registry, endpoints);
  const clients = new Set<Client>();
  const graph = graphView(application);
  let assets: Promise<Map<string, Asset>> | undefined;

  const loadAssets = () => {
    assets ??= readAssets().catch((err: unknown) => {
      assets = undefined;
      throw err;
    });
    return assets;
  };

  const serveAsset = (name: string) => async (req: IncomingMessage, res: ServerResponse) => {
    let asset: Asset | undefined;
    try {
      asset = (await loadAssets()).get(name);
    } catch (err) {
      log.error('the dashboard bundle is missing and cannot be built here; run `npm run build`', { error: messageOf(err) });
      return sendJson(res, 503, { error: `dashboard bundle unavailable: ${messageOf(err)}` });
    }
    if (!asset) return sendJson(res, 404, { error: `no dashboard asset ${name}` });
    if (req.headers['if-none-match'] === asset.etag) return void res.writeHead(304, { etag: asset.etag }).end();
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? asset.gzip : asset.body;
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': body.length,
      'cache-control': 'no-cache',
      etag: asset.etag,
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const send = (client: Client, frame: string) => {
    if (client.blocked || client.response.writableEnded || client.response.destroyed) return;
    if (!client.response.write(frame)) client.blocked = true;
  };

  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      if (clients.size === 0) {
        collector.poll();
        return;
      }
      const frame = snapshotFrame(await collector.snapshot());
      for (const client of clients) send(client, frame);
    } catch (err) {
      log.warn('dashboard snapshot failed', { error: messageOf(err) });
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), interval);
  timer.unref();

  const claim = (path: string, handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>) => {
    if (!endpoints.get(path, handler, OWNER)) log.warn('dashboard endpoint already taken; not served', { path });
  };
  claim('/', (req, res) => {
    const html = page(graph.application);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : html);
  });
  claim('/dashboard/app.js', serveAsset('app.js'));
  claim('/dashboard/app.css', serveAsset('app.css'));
  claim('/dashboard/graph', (_req, res) => sendJson(res, 200, graph));
  claim('/dashboard/events', async (req, res) => {
    if (clients.size >= maxClients) return sendJson(res, 503, { error: `too many dashboard event streams open (${maxClients})` });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive' });
    if (req.method === 'HEAD') return void res.end();
    const client: Client = { response: res, blocked: false };
    clients.add(client);
    res.on('drain', () => (client.blocked = false));
    res.on('close', () => clients.delete(client));
    res.write(`retry: 2000\n\n`);
    // The first snapshot at once: a page should not wait for the timer.
    send(client, snapshotFrame(await collector.snapshot()));
  });

  const close = () => {
    clearInterval(timer);
    for (const client of clients) client.response.end();
    clients.clear();
  };
  endpoints.closed.addEventListener('abort', close, { once: true });
  return {
    get clients() {
      return clients.size;
    },
    close,
  };
}

/** One SSE frame; JSON has no raw newlines, so it fits one `data:` line. */
function snapshotFrame(snapshot: unknown): string {
  return `event: snapshot\ndata: ${JSON.stringify(snapshot, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n\n`;
}

/** The bundle written at build time beside this module, else built now (from `src`, as tests run). */
async function readAssets(): Promise<Map<string, Asset>> {
  let bundle: DashboardAssets;
  try {
    const dir = new URL('./assets/', import.meta.url);
    const [js, css] = await Promise.all([readFile(new URL('app.js', dir), 'utf8'), readFile(new URL('app.css', dir), 'utf8')]);
    bundle = { js, css };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const { bundleDashboard } = await import('./build.js');
    bundle = await bundleDashboard();
  }
  const asset = (type: string, text: string): Asset => {
    const body = Buffer.from(text);
    return { type, body, gzip: gzipSync(body), etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
  };
  return new Map([
    ['app.js', asset('text/javascript; charset=utf-8', bundle.js)],
    ['app.css', asset('text/css; charset=utf-8', bundle.css)],
  ]);
}
