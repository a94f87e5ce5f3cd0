/** What the MQTT and AMQP connector tests share: a record schema, log capture, metric reads. */
import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { createLogger, type Logger } from '../../../src/core/log.js';
import { defineSchema } from '../../../src/core/schema.js';

export const Reading = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'test.connectors',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'machine', type: 'string' },
    { name: 'value', type: 'double' },
    { name: 'topic', type: 'string', default: '' },
  ],
} as const);

export type ReadingValue = ReturnType<typeof Reading.decode>;

export const reading = (id: number, machine = `m${id % 3}`): ReadingValue => ({ id, machine, value: id / 10, topic: '' });

export const unique = (prefix: string): string => `${prefix}-${randomBytes(5).toString('hex')}`;

export const BROKER = 'mqtt://127.0.0.1:1883';

export interface CapturedLog {
  readonly log: Logger;
  readonly lines: readonly Record<string, unknown>[];
  /** Resolves with the first line whose message matches; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  messages(pattern: RegExp): Record<string, unknown>[];
}

export function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const messages = (pattern: RegExp) => lines.filter((l) => pattern.test(String(l.msg)));
  return {
    log,
    lines,
    messages,
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages(pattern)[0];
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no log line matched ${pattern} within ${timeoutMs} ms; got:\n${lines.map((l) => l.msg).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

/** The value of a counter in the application's `/metrics`, summed over series that have `labels`. */
export async function metric(url: string, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A plain mqtt.js client on the real broker, to publish test input or read test output. */
export function rawClient(options: { clientId?: string; clean?: boolean } = {}): Promise<MqttClient> {
  return connectAsync(BROKER, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    ...(options.clientId ? { clientId: options.clientId } : {}),
    clean: options.clean ?? true,
    ...(options.clean === false ? { properties: { sessionExpiryInterval: 600 } } : {}),
  });
}

export async function publishAll(client: MqttClient, topic: string, payloads: readonly (string | Buffer)[]): Promise<void> {
  await Promise.all(payloads.map((p) => client.publishAsync(topic, p, { qos: 1 })));
}

export const ids = (records: readonly unknown[]): number[] => records.map((r) => (r as ReadingValue).id);

/** Which of the ids 0..expected-1 are missing, and how many extra copies arrived. */
export function tally(values: readonly number[], expected: number): { missing: number[]; duplicates: number } {
  const seen = new Set(values);
  const missing: number[] = [];
  for (let i = 0; i < expected; i++) if (!seen.has(i)) missing.push(i);
  return { missing, duplicates: values.length - seen.size };
}
