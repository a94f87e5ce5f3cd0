import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';

export type EndpointHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/**
 * The application's one HTTP port: streamlet JSON views (`/state`), and whatever observability
 * plugins add (metrics, dashboard). Exact-path routing on GET is all it needs.
 */
export class EndpointServer {
  private readonly routes = new Map<string, { owner: string; handler: EndpointHandler }>();
  private readonly views = new Map<string, () => unknown>();
  private readonly closing = new AbortController();
  private server: Server | undefined;

  constructor(private readonly log: Logger) {}

  /**
   * Registers `GET path` for `owner`; returns false when another owner holds the path (the
   * first claim wins). The same owner may replace its handler, as a restarted streamlet does.
   */
  get(path: string, handler: EndpointHandler, owner = ''): boolean {
    const held = this.routes.get(path);
    if (held && held.owner !== owner) return false;
    this.routes.set(path, { owner, handler });
    this.views.delete(path);
    return true;
  }

  json(path: string, view: () => unknown, owner = ''): boolean {
    const claimed = this.get(path, (_req, res) => sendJson(res, 200, view()), owner);
    if (claimed) this.views.set(path, view);
    return claimed;
  }

  /** The JSON view registered at `path`, to read in-process what `GET path` would answer. */
  view(path: string): (() => unknown) | undefined {
    return this.views.get(path);
  }

  /** Aborts when the server starts closing: long-lived responses (event streams) end then. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  paths(): string[] {
    return [...this.routes.keys()].sort();
  }

  async listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  async close(): Promise<void> {
    this.closing.abort();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handler = this.routes.get(path)?.handler;
    if (!handler) return sendJson(res, 404, { error: `no endpoint at ${path}`, endpoints: this.paths() });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: `${req.method} not allowed on ${path}; use GET` });
    try {
      await handler(req, res);
    } catch (err) {
      this.log.error('endpoint failed', { path, error: messageOf(err) });
      if (!res.headersSent) sendJson(res, 500, { error: messageOf(err) });
    }
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
