/** What the HTTP and file connector tests share: a record schema with every kind of field, records, metrics. */
import { request } from 'undici';
import { defineSchema, type AvroValue } from '../../../src/core/schema.js';

const readingSchema = {
  type: 'record',
  name: 'Reading',
  namespace: 'test.connectors',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'sensor', type: 'string' },
    { name: 'value', type: 'double' },
    { name: 'ok', type: 'boolean', default: true },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'raw', type: 'bytes', default: '' },
  ],
} as const;

export const ReadingSchema = defineSchema(readingSchema);
export type Reading = AvroValue<typeof readingSchema>;

/** Reading `i`: ids are unique, so outputs can be matched to inputs; some values need quoting in CSV. */
export function reading(i: number): Reading {
  return {
    id: i,
    sensor: i % 7 === 0 ? `s,"${i}"\nline` : `sensor-${i % 10}`,
    value: i / 4,
    ok: i % 2 === 0,
    note: i % 3 === 0 ? null : i % 3 === 1 ? '' : `note ${i} é`,
    tags: i % 5 === 0 ? [] : [`t${i}`, 'x'],
    raw: Buffer.from([i % 256, 0, 255]),
  };
}

export const readings = (from: number, count: number): Reading[] => Array.from({ length: count }, (_, k) => reading(from + k));

export const idsOf = (values: readonly unknown[]): number[] => values.map((v) => (v as Reading).id);

/** The value of one sample of `GET /metrics`, e.g. `sluice_connector_rejected_total{reason="invalid",streamlet="in"}`. */
export async function metric(baseUrl: string, sample: string): Promise<number | undefined> {
  const text = await (await request(`${baseUrl}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}
