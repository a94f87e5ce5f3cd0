/** Helpers for tests against a real nats-server: unique application names, reading a topic's stream, cleaning up, a private server. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Schema } from '../../../src/core/schema.js';

export const SYSTEM_NATS = 'nats://127.0.0.1:4222';

export function uniqueApp(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Every record stored in a stream (one subject), decoded, with its message id header. */
export async function readStream<T>(nc: NatsConnection, stream: string, schema: Schema<T>): Promise<{ value: T; msgId: string | undefined }[]> {
  const jsm = await jetstreamManager(nc);
  const last = (await jsm.streams.info(stream)).state.last_seq;
  const out: { value: T; msgId: string | undefined }[] = [];
  if (last === 0) return out;
  const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume({ max_messages: 1000 });
  for await (const m of messages) {
    out.push({ value: schema.decode(Buffer.from(m.data), stream), msgId: m.headers?.get('Nats-Msg-Id') || undefined });
    if (m.seq >= last) break;
  }
  return out;
}

/** Deletes every stream and bucket of an application (`sluice_<app>...`, `KV_sluice_<app>...`, `OBJ_sluice_<app>...`). */
export async function deleteApplication(url: string, app: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if ([`sluice_${app}`, `KV_sluice_${app}`, `OBJ_sluice_${app}`].some((p) => name === p || name.startsWith(`${p}_`))) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A nats-server of the test's own, with JetStream on a temporary directory, to kill and restart. */
export class PrivateNats {
  private process: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'sluice-nats-'));

  constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateNats> {
    const server = new PrivateNats(await freePort());
    await server.restart();
    return server;
  }

  async restart(): Promise<void> {
    this.process = spawn('/usr/sbin/nats-server', ['-js', '-sd', this.dir, '-p', String(this.port), '-a', '127.0.0.1'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const nc = await connect({ servers: this.url, reconnect: false }).catch(() => undefined);
      if (nc) {
        const ok = await jetstreamManager(nc).then(
          () => true,
          () => false,
        );
        await nc.close();
        if (ok) return;
      }
      await sleep(100);
    }
    throw new Error(`nats-server on port ${this.port} did not start`);
  }

  /** Kills the server (SIGKILL) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
