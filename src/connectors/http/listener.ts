/**
 * The HTTP side of the HTTP connectors: one node:http server per streamlet that takes records
 * POSTed to one path, checks method, content type, size and load before decoding anything,
 * answers every problem with its status and a JSON body naming it, and stops gracefully: no new
 * requests, the ones in flight finish.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { config, type ConfigValues } from '../../core/config.js';
import { isSluiceError, messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Schema } from '../../core/schema.js';
import type { JsonHandler } from '../../core/streamlet.js';
import { Notifier } from '../../util/notifier.js';
import { rejectionReason, type Rejections } from '../rejections.js';
import { bodyFormatOf, decodeBody, type ReceivedRecords } from './request-body.js';

export const httpListenerConfig = {
  host: config.string({ description: 'Interface to listen on (0.0.0.0: every interface)', default: '0.0.0.0' }),
  port: config.integer({ description: 'TCP port; 0 picks a free one (logged, and served at GET /<streamlet>/http)', default: 8080, min: 0, max: 65535 }),
  path: config.string({ description: 'Path records are POSTed to', default: '/', pattern: /^\/[^\s?#]*$/ }),
  'max-request-size': config.memorySize({ description: 'Largest request body accepted; larger ones get 413', default: 4 * 1024 * 1024, min: 1 }),
  'max-in-flight': config.integer({ description: 'Requests handled at once; more get 429', default: 64, min: 1 }),
  'accept-timeout': config.duration({
    description: 'How long records may wait for the pipeline to take them before the request gets 503',
    default: 5_000,
    min: 1,
  }),
  'retry-after': config.duration({ description: 'Retry-After sent with 429 and 503 (whole seconds)', default: 1_000, min: 1_000 }),
} as const;

export type HttpListenerConfig = ConfigValues<typeof httpListenerConfig>;

export interface HttpReply {
  readonly status: number;
  readonly body: unknown;
}

/** What a handler may use while it answers one request. */
export interface RequestScope {
  /**
   * Resolves once `emitted` does (the runtime accepted the records); throws SLUICE_ERR_BACKPRESSURE
   * (503) if that takes longer than `accept-timeout`. The request keeps its in-flight slot until
   * `emitted` settles either way, so a stalled pipeline turns new requests away with 429.
   */
  accepted(emitted: Promise<void>): Promise<void>;
}

export type RecordsHandler<T> = (received: ReceivedRecords<T>, scope: RequestScope) => Promise<HttpReply>;

/** The parts of a streamlet context a listener needs. */
export interface ListenerContext {
  readonly name: string;
  readonly config: HttpListenerConfig;
  readonly log: Logger;
  readonly signal: AbortSignal;
  exposeJson(path: string, handler: JsonHandler): void;
}

/** Serves POSTed records to `handler` until `ctx.signal` aborts, then finishes the requests in flight. */
export async function serveRecords<T>(ctx: ListenerContext, schema: Schema<T>, rejections: Rejections, handler: RecordsHandler<T>): Promise<void> {
  const { host, port, path } = ctx.config;
  const where = `${ctx.name} POST ${path}`;
  const retryAfter = Math.ceil(ctx.config['retry-after'] / 1000);
  const stats = { requests: 0, records: 0, rejected: 0 };
  const settled = new Notifier();
  let inFlight = 0;
  let stopping = false;

  const handle = async (req: IncomingMessage, res: ServerResponse, hold: (p: Promise<unknown>) => void): Promise<void> => {
    const requestPath = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (requestPath !== path) throw new SluiceError('SLUICE_ERR_ENDPOINT_NOT_FOUND', { method: req.method ?? '?', path: requestPath });
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new SluiceError('SLUICE_ERR_METHOD_NOT_ALLOWED', { method: req.method ?? '?', path, allowed: 'POST' });
    }
    if (stopping) throw new SluiceError('SLUICE_ERR_SHUTDOWN', { message: `${ctx.name} is stopping; send to another replica or retry` });
    if (inFlight > ctx.config['max-in-flight']) {
      throw new SluiceError('SLUICE_ERR_TOO_MANY_REQUESTS', { where, limit: ctx.config['max-in-flight'], retryAfter });
    }
    const format = bodyFormatOf(req.headers['content-type'], where);
    const body = await readBody(req, ctx.config['max-request-size']);
    const received = decodeBody(schema, format, body, where);
    const reply = await handler(received, {
      accepted: (emitted) => {
        hold(emitted);
        return acceptedWithin(emitted, ctx.config['accept-timeout'], where, retryAfter);
      },
    });
    stats.records += received.records.length;
    send(res, reply.status, reply.body);
  };

  const server = createServer((req, res) => {
    stats.requests += 1;
    inFlight += 1;
    const held: Promise<unknown>[] = [];
    void handle(req, res, (p) => held.push(p))
      .catch((err: unknown) => {
        // The client went away mid-request: nobody to answer, nothing was taken.
        if (req.destroyed && !req.complete) return;
        stats.rejected += 1;
        const status = isSluiceError(err) ? err.httpStatus : 500;
        if (status === 500) ctx.log.error('request failed', { error: messageOf(err) });
        else if (status === 400 || status === 413 || status === 415) rejections.reject(rejectionReason(err), err, { remote: req.socket.remoteAddress });
        if (status === 429 || status === 503) res.setHeader('retry-after', String(retryAfter));
        // A body left unread (too large, refused early) is not worth reading to keep the connection.
        if (!req.complete || stopping) res.setHeader('connection', 'close');
        if (!res.headersSent) send(res, status, { error: messageOf(err), code: isSluiceError(err) ? err.code : 'SLUICE_ERR_SERVER_FAILED' });
      })
      .then(() => Promise.allSettled(held))
      .finally(() => {
        inFlight -= 1;
        settled.notifyAll();
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new SluiceError(
      'SLUICE_ERR_CONFIG_INVALID',
      { where: `${ctx.name}.port`, message: `cannot listen on ${host}:${port}: ${messageOf(err)}` },
      { cause: err },
    );
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}${path}`;
  ctx.log.info('listening for records', { url });
  ctx.exposeJson('/http', () => ({ url, port: address.port, path, inFlight, ...stats }));

  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  stopping = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  while (inFlight > 0) await settled.wait();
  server.closeAllConnections();
  await closed;
  ctx.log.info('stopped listening', { url, ...stats });
}

async function acceptedWithin(emitted: Promise<void>, timeoutMs: number, where: string, retryAfter: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SluiceError('SLUICE_ERR_BACKPRESSURE', { where, timeout: timeoutMs, retryAfter })), timeoutMs);
  });
  try {
    await Promise.race([emitted, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new SluiceError('SLUICE_ERR_REQUEST_TOO_LARGE', { limit });
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        req.removeAllListeners('data');
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
