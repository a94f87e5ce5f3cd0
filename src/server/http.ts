/**
 * The HTTP side of the model server: one `node:http` server carrying every REST protocol's
 * routes. It reads bodies up to the size limit (413 beyond it, checked on Content-Length before
 * reading when there is one), answers every failure with the owning protocol's error body and
 * the error's status, counts every answer, and drains: once stopping, it takes no new requests
 * and closes each connection after its answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { isSluiceError, messageOf, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { sendJson } from '../runtime/endpoints.js';
import { Notifier } from '../util/notifier.js';
import type { ServerMetrics } from './metrics.js';
import type { Exchange, RestProtocol, RestRequest, RestRoute } from './protocol.js';
import { Router } from './router.js';

export interface MountedRoute extends RestRoute {
  readonly protocol: Pick<RestProtocol, 'name' | 'errorBody'>;
}

export interface HttpFrontOptions {
  readonly host: string;
  readonly port: number;
  readonly maxRequestSize: number;
  readonly routes: readonly MountedRoute[];
  /** The error body for requests no route owns. */
  readonly fallback: Pick<RestProtocol, 'name' | 'errorBody'>;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
}

export class HttpFront {
  private readonly router = new Router<MountedRoute>();
  private inFlight = 0;
  private readonly idle = new Notifier();
  private stopping = false;
  private readonly server: Server;
  private boundUrl = '';

  private constructor(private readonly options: HttpFrontOptions) {
    for (const route of options.routes) this.router.add(route);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async listen(options: HttpFrontOptions): Promise<HttpFront> {
    const front = new HttpFront(options);
    const { server } = front;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    front.boundUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    return front;
  }

  get url(): string {
    return this.boundUrl;
  }

  /** Takes no new connections or requests; open connections close after their answer. */
  stopAccepting(): void {
    this.stopping = true;
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Resolves when no request is being answered, or when `signal` aborts. */
  async drained(signal: AbortSignal): Promise<void> {
    while (this.inFlight > 0 && !signal.aborted) await this.idle.wait(signal);
  }

  /** Cuts every connection left. */
  close(): void {
    this.server.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    let exchange: Exchange = { model: '' };
    let owner = this.options.fallback;
    let status = 500;
    try {
      if (this.stopping) throw new SluiceError('SLUICE_ERR_SHUTDOWN', { message: 'the server is shutting down; send the request elsewhere' });
      const match = this.router.match(method, path);
      if (!match) throw new SluiceError('SLUICE_ERR_ENDPOINT_NOT_FOUND', { method, path });
      if ('allowed' in match) {
        res.setHeader('allow', match.allowed.join(', '));
        throw new SluiceError('SLUICE_ERR_METHOD_NOT_ALLOWED', { method, path, allowed: match.allowed.join(', ') });
      }
      owner = match.route.protocol;
      const body = await readBody(req, this.options.maxRequestSize);
      const request: RestRequest = { model: '', params: match.params, headers: req.headers, body, json: () => parseJson(body) };
      exchange = request;
      const reply = await match.route.handle(request);
      status = reply.status ?? 200;
      if (this.stopping) res.setHeader('connection', 'close');
      if (reply.contentType === undefined) sendJson(res, status, reply.body);
      else res.writeHead(status, { 'content-type': reply.contentType }).end(reply.body as string);
    } catch (err) {
      const error = isSluiceError(err)
        ? err
        : new SluiceError('SLUICE_ERR_SERVER_FAILED', { what: `${method} ${path}`, message: messageOf(err) }, { cause: err });
      if (!isSluiceError(err)) this.options.log.error('request failed', { method, path, error: messageOf(err) });
      status = error.httpStatus;
      // After a refused body the connection holds unread bytes: it cannot carry another request.
      if (status === 413 || this.stopping) res.setHeader('connection', 'close');
      if (!res.headersSent) sendJson(res, status, owner.errorBody(error));
    } finally {
      this.options.metrics.answered(owner.name, exchange.model, String(status), (performance.now() - started) / 1000);
      this.inFlight--;
      if (this.inFlight === 0) this.idle.notifyAll();
    }
  }
}

function tooLarge(limit: number): SluiceError<'SLUICE_ERR_REQUEST_TOO_LARGE'> {
  return new SluiceError('SLUICE_ERR_REQUEST_TOO_LARGE', { limit });
}

/** The whole body, refused (413) as soon as it is known to exceed `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.resume();
      reject(tooLarge(limit));
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: 'the request body is empty: expected JSON' });
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: `the request body is not valid JSON: ${messageOf(err)}` });
  }
}
