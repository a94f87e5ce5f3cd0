import { describe, expect, it } from 'vitest';
import { ModelServing } from '../../examples/recommender/streamlets.js';
import { ApplicationMetrics } from '../../src/observe/metrics.js';
import { startStreamlet } from '../../src/testkit.js';
import { recommenderDescriptor, recommenderRecord, tempDir } from '../support/recommender.js';

/** Samples of the Prometheus text format: `name{a="x",b="y"} value`, keyed by name and sorted labels. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = (match[2] ?? '')
      .split(/,(?=\w+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    samples.set(labels ? `${match[1]}{${labels}}` : (match[1] as string), Number(match[3]));
  }
  return samples;
}

describe('metrics at GET /metrics', () => {
  it('count records in, out and dead-lettered consistently while a streamlet runs', async () => {
    const h = await startStreamlet(ModelServing, { name: 'model-serving', volumes: { models: tempDir() } });
    try {
      await h.send('in-0', [recommenderRecord(0), recommenderRecord(1)]);
      await h.until(() => h.outputs('out').length === 2);
      await h.send('in-1', [recommenderDescriptor('recommender-a')]);
      await h.until(() => h.committed('in-1') === 1);
      await h.send(
        'in-0',
        Array.from({ length: 300 }, (_, i) => recommenderRecord(i + 2)),
      );
      await h.sendRaw('in-0', [Buffer.from([0xff, 0xff]), Buffer.from([0x01])]);
      await h.until(() => h.outputs('out').length === 302 && h.deadLetters.length === 2);
      await h.until(() => h.committed('in-0') === 304);

      const m = await scrape(h.url);
      const recordsIn = m.get('sluice_records_in_total{inlet="in-0",streamlet="model-serving"}');
      const recordsOut = m.get('sluice_records_out_total{outlet="out",streamlet="model-serving"}');
      const dead = m.get('sluice_dead_letters_total{kind="decode",port="in-0",streamlet="model-serving"}');
      expect([recordsIn, recordsOut, dead]).toEqual([304, 302, 2]);
      expect((recordsOut ?? 0) + (dead ?? 0)).toBe(recordsIn);
      expect(m.get('sluice_records_in_total{inlet="in-1",streamlet="model-serving"}')).toBe(1);
      expect(m.get('sluice_model_records_total{model="",outcome="no_model",streamlet="model-serving"}')).toBe(2);
      expect(m.get('sluice_model_records_total{model="recommender-a",outcome="scored",streamlet="model-serving"}')).toBe(300);
      expect(m.get('sluice_model_swaps_total{model="recommender-a",streamlet="model-serving"}')).toBe(1);
      const calls = m.get('sluice_model_call_seconds_count{model="recommender-a",streamlet="model-serving"}') ?? 0;
      expect(calls).toBeGreaterThan(0);
      expect(m.get('sluice_model_batch_records_sum{model="recommender-a",streamlet="model-serving"}')).toBe(300);
      expect(m.get('sluice_model_call_seconds_sum{model="recommender-a",streamlet="model-serving"}')).toBeGreaterThan(0);
      expect([...m.keys()].some((k) => k.startsWith('sluice_topic_depth{'))).toBe(true);
      expect(m.has('sluice_process_cpu_seconds_total')).toBe(true);

      await h.send('in-1', [{ ...recommenderDescriptor('recommender-b'), modelBytes: Buffer.from('garbage') }]);
      await h.until(() => h.committed('in-1') === 2);
      expect((await scrape(h.url)).get('sluice_model_updates_rejected_total{code="SLUICE_ERR_MODEL_INVALID",streamlet="model-serving"}')).toBe(1);
    } finally {
      await h.stop();
    }
  });
});

describe('metrics switched off', () => {
  it('count nothing and expose nothing', async () => {
    const metrics = new ApplicationMetrics({ enabled: false, topicDepths: () => ({ t: 5 }) });
    metrics.inlet('s', 'in').inc(3);
    metrics.forStreamlet('s').counter('x_total', 'x').inc();
    expect((await metrics.exposition()).body.trim()).toBe('');
  });
});
