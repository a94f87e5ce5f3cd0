import { describe, expect, it } from 'vitest';
import { markdownTables } from '../../bench/extensions/nats.js';
import { externalTable } from '../../bench/extensions/external.js';
import type { ExternalRow } from '../../bench/external.js';
import { cdfPoints, median, quantile, summarizeLatencies } from '../../bench/harness/quantiles.js';
import { arrivalRate, defaultCriterion, judgeStep, RateSearch, type StepMeasurement } from '../../bench/harness/stepping.js';
import { parseArgs, select, UsageError } from '../../bench/options.js';
import { buildFfnnModel, FFNN_CLASSES, FFNN_INPUT, FFNN_INPUT_WIDTH, FFNN_OUTPUT, ffnnParameterCount } from '../../bench/workloads/ffnn-model.js';
import { ffnnAdapter } from '../../bench/workloads/ffnn.js';
import { buildRecommenderModel, recommenderModels } from '../../examples/recommender/models/build-models.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { onnxExecutor } from '../../src/serving/executors/onnx.js';
import { NO_MODEL_ERROR } from '../../src/serving/result-metadata.js';

describe('quantiles', () => {
  const values = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it('are nearest-rank: the smallest value with at least the share at or below it', () => {
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile(values, 0.991)).toBe(100);
    expect(quantile(values, 0)).toBe(1);
    expect(quantile(values, 1)).toBe(100);
    expect(quantile([7], 0.5)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('refuse a share outside [0, 1]', () => {
    expect(() => quantile(values, 1.5)).toThrow('a quantile is between 0 and 1, not 1.5');
    expect(() => quantile(values, Number.NaN)).toThrow('not NaN');
  });

  it('summarise latencies, sorting them', () => {
    const latencies = Float64Array.from([5, 1, 4, 2, 3]);
    expect(summarizeLatencies(latencies)).toEqual({ count: 5, mean: 3, p50: 3, p95: 5, p99: 5, max: 5 });
    expect(Array.from(latencies)).toEqual([1, 2, 3, 4, 5]);
    expect(summarizeLatencies(new Float64Array(0)).p99).toBeNaN();
  });

  it('give CDF points that rise to the maximum, denser in the tail', () => {
    const sorted = Float64Array.from({ length: 10_000 }, (_, i) => i);
    const points = cdfPoints(sorted);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]?.share).toBeGreaterThan(points[i - 1]?.share as number);
      expect(points[i]?.latency).toBeGreaterThanOrEqual(points[i - 1]?.latency as number);
    }
    expect(points.at(-1)).toEqual({ latency: 9_999, share: 1 });
    expect(points.some((p) => p.share > 0.999 && p.share < 1)).toBe(true);
    expect(cdfPoints([])).toEqual([]);
  });

  it('take medians of the finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });
});

/** A step of a synthetic pipeline of capacity `capacity` records/s, with `base` records always in flight and `pause` ms stalled at the very end. */
function syntheticStep(rate: number, capacity: number, options: { base?: number; pause?: number } = {}): StepMeasurement {
  const seconds = 2;
  const base = options.base ?? 200;
  const behind = (t: number) => Math.max(0, rate - capacity) * t;
  const lagEnd = base + behind(seconds) + ((options.pause ?? 0) / 1000) * rate;
  return { rate, seconds, lagMid: base + behind(seconds / 2), lagEnd, p99: 20, complete: true };
}

describe('the stepping criterion', () => {
  it('sustains a step the pipeline keeps up with', () => {
    expect(judgeStep(syntheticStep(9_000, 10_000))).toEqual({ sustained: true, reasons: [] });
  });

  it('fails a step whose lag ends above a tenth of a second of input and keeps rising', () => {
    const step = syntheticStep(20_000, 10_000);
    expect(arrivalRate(step)).toBe(10_000);
    const verdict = judgeStep(step);
    expect(verdict.sustained).toBe(false);
    expect(verdict.reasons).toEqual(['falling behind: lag 10200 → 20200 records (bound 2000), results at 50% of the input rate']);
  });

  it('sustains a step that ends on one pause shorter than a tenth of a second, and one whose lag is high but falling', () => {
    const paused = syntheticStep(40_000, 100_000, { pause: 80 });
    expect(arrivalRate(paused)).toBeLessThan(0.95 * 40_000);
    expect(judgeStep(paused).sustained).toBe(true);
    expect(judgeStep(syntheticStep(40_000, 100_000, { pause: 150 })).sustained).toBe(false);
    const catchingUp: StepMeasurement = { rate: 10_000, seconds: 2, lagMid: 9_000, lagEnd: 3_000, p99: 400, complete: true };
    expect(judgeStep(catchingUp).sustained).toBe(true);
    expect(judgeStep({ ...catchingUp, lagEnd: 9_500 }, { ...defaultCriterion, minArrivalShare: 0.9 }).sustained).toBe(true);
  });

  it('does not count a small lag that rises, below 1,000 records', () => {
    expect(judgeStep({ rate: 500, seconds: 2, lagMid: 10, lagEnd: 900, p99: 20, complete: true }).sustained).toBe(true);
    expect(judgeStep({ rate: 500, seconds: 2, lagMid: 10, lagEnd: 1_100, p99: 20, complete: true }).sustained).toBe(false);
  });

  it('fails a step whose p99 passes 1 s, or whose results are still missing after the drain time', () => {
    expect(judgeStep({ ...syntheticStep(1_000, 10_000), p99: 1_500 }).reasons).toEqual(['p99 1500 ms over 1000 ms']);
    expect(judgeStep({ ...syntheticStep(1_000, 10_000), complete: false }).reasons).toEqual(['results still missing after the drain time']);
  });
});

describe('the rate search', () => {
  /** Runs a search against the synthetic pipeline; returns the rates tried and the result. */
  function search(capacity: number, start: number, refinements: number, maxSteps = 20) {
    const rates: number[] = [];
    const s = new RateSearch({ start, factor: 1.5, refinements, maxSteps });
    for (let rate = s.next(); rate !== undefined; rate = s.next()) {
      rates.push(rate);
      s.record(rate, judgeStep(syntheticStep(rate, capacity)).sustained);
    }
    return { rates, ...s.result() };
  }

  it('steps up ×1.5 until a step fails, then bisects between the bounds', () => {
    const { rates, sustainable, failedAt } = search(10_000, 1_000, 2);
    const ramp = rates.slice(0, 7);
    expect(ramp[0]).toBe(1_000);
    for (let i = 1; i < ramp.length; i++) expect(Math.abs((ramp[i] as number) - 1.5 * (ramp[i - 1] as number))).toBeLessThanOrEqual(0.5);
    // Six steps sustained, the seventh (11,393) not, then two bisections.
    expect(rates).toHaveLength(9);
    expect(rates[7]).toBe(Math.round(Math.sqrt((ramp[5] as number) * (ramp[6] as number))));
    // The synthetic pipeline's lag passes its bound a little above capacity (a tenth of a second of input in a 2 s step: 5% over).
    expect(sustainable).toBeGreaterThan(10_000 / 1.5 ** 0.25);
    expect(sustainable).toBeLessThanOrEqual(10_530);
    expect(failedAt).toBeGreaterThan(sustainable as number);
    expect((failedAt as number) / (sustainable as number)).toBeLessThan(1.5 ** 0.25 + 0.01);
  });

  it('steps down when the first rate already fails', () => {
    const { rates, sustainable, failedAt } = search(1_000, 10_000, 0);
    for (let i = 1; i < rates.length; i++) expect(Math.abs((rates[i] as number) - (rates[i - 1] as number) / 1.5)).toBeLessThanOrEqual(0.5);
    expect(sustainable).toBe(rates.at(-1));
    expect(failedAt).toBe(rates.at(-2));
    expect(judgeStep(syntheticStep(failedAt as number, 1_000)).sustained).toBe(false);
    expect(judgeStep(syntheticStep(sustainable as number, 1_000)).sustained).toBe(true);
  });

  it('stops after maxSteps, with no failed rate when none failed', () => {
    const { rates, sustainable, failedAt } = search(1e9, 1_000, 2, 4);
    expect(rates).toEqual([1_000, 1_500, 2_250, 3_375]);
    expect(sustainable).toBe(3_375);
    expect(failedAt).toBeUndefined();
  });

  it('refuses bad options and a step it did not ask for', () => {
    expect(() => new RateSearch({ start: 0, factor: 1.5, refinements: 0, maxSteps: 5 })).toThrow('the start rate must be positive, not 0');
    expect(() => new RateSearch({ start: 10, factor: 1, refinements: 0, maxSteps: 5 })).toThrow('the step factor must be above 1, not 1');
    const s = new RateSearch({ start: 100, factor: 2, refinements: 0, maxSteps: 5 });
    expect(s.next()).toBe(100);
    expect(() => s.record(150, true)).toThrow('a step at 150 records/s was not asked for (next: 100)');
  });
});

describe("Crayfish's FFNN", () => {
  const descriptor = (bytes: Uint8Array): ModelDescriptor => ({
    modelName: 'ffnn',
    description: '',
    modelType: 'ONNX',
    modelBytes: Buffer.from(bytes),
    modelSourceLocation: null,
  });

  it('has 784→32→32→10 units: 26,506 parameters, about 28K as in Crayfish', () => {
    expect(ffnnParameterCount()).toBe(784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10);
    expect(ffnnParameterCount()).toBe(26_506);
  });

  it('loads in the ONNX executor, fits its adapter, and gives 10 probabilities per image', async () => {
    const model = await onnxExecutor.load(descriptor(buildFfnnModel()));
    try {
      expect(ffnnAdapter.check(model.metadata())).toEqual([]);
      const images = [0, 1, 2].map((id) => ({ id, pixels: Array.from({ length: FFNN_INPUT_WIDTH }, (_, j) => ((j * (id + 1)) % 255) / 255) }));
      const outputs = await model.infer(ffnnAdapter.toInputs(images));
      expect(outputs[FFNN_OUTPUT]?.shape).toEqual([3, FFNN_CLASSES]);
      const rows = ffnnAdapter.fromOutputs(images, outputs);
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        expect(row).toHaveLength(FFNN_CLASSES);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        for (const p of row) expect(p).toBeGreaterThan(0);
      }
      // Different images, different answers; the same seed, the same model.
      expect(rows[0]).not.toEqual(rows[1]);
      expect(buildFfnnModel()).toEqual(buildFfnnModel());
      expect(buildFfnnModel(8)).not.toEqual(buildFfnnModel());
    } finally {
      await model.unload();
    }
  });

  it('rejects an image of the wrong size, and a model that does not fit', async () => {
    expect(ffnnAdapter.reject?.({ id: 1, pixels: [0.5, 0.5] })).toBe('an image has 784 pixels, this one 2');
    expect(ffnnAdapter.reject?.({ id: 1, pixels: new Array<number>(FFNN_INPUT_WIDTH).fill(0) })).toBeUndefined();
    const other = await onnxExecutor.load(descriptor(buildRecommenderModel(recommenderModels[0] as (typeof recommenderModels)[number])));
    try {
      expect(ffnnAdapter.check(other.metadata())).toEqual([`the model has no input '${FFNN_INPUT}'`, `the model has no output '${FFNN_OUTPUT}'`]);
    } finally {
      await other.unload();
    }
    const unscored = ffnnAdapter.result({ id: 9, pixels: [] }, undefined, { errors: NO_MODEL_ERROR, modelName: '', source: '', startTime: 0, duration: 0 });
    expect(unscored).toEqual({ id: 9, probabilities: [], modelResultMetadata: expect.objectContaining({ errors: NO_MODEL_ERROR }) });
  });
});

describe('the command line', () => {
  it('parses options and refuses unknown or bad ones', () => {
    expect(parseArgs(['--quick', '--only=ffnn,raw', '--rounds=2', '--no-json', '--no-publish'])).toEqual({
      quick: true,
      only: ['ffnn', 'raw'],
      rounds: 2,
      json: undefined,
      publish: false,
      child: undefined,
    });
    expect(parseArgs(['--help'])).toBe('help');
    expect(() => parseArgs(['--fast'])).toThrow(new UsageError('unknown argument --fast'));
    expect(() => parseArgs(['--rounds=0'])).toThrow('--rounds must be a positive integer, not 0');
    expect(() => parseArgs(['--rounds=two'])).toThrow('--rounds must be a positive integer, not two');
  });

  it('picks configurations by id, workload or executor, stages, and suites', () => {
    const ids = (only: string[] | undefined, quick = false) => {
      const s = select(only, quick);
      return { configurations: s.configurations.map((c) => c.id), stages: [...s.stages].sort(), suites: s.suites.map((x) => x.id) };
    };
    expect(ids(undefined)).toEqual({
      configurations: ['recommender-onnx', 'recommender-tfjs', 'recommender-pmml', 'fraud-onnx', 'ffnn-onnx'],
      stages: ['latency', 'raw', 'stepping', 'sweep'],
      suites: ['nats', 'external', 'connectors'],
    });
    expect(ids(undefined, true).suites).toEqual([]);
    expect(ids(['tfjs', 'ffnn'])).toMatchObject({ configurations: ['recommender-tfjs', 'ffnn-onnx'], suites: [] });
    expect(ids(['recommender', 'raw'])).toMatchObject({ configurations: ['recommender-onnx', 'recommender-tfjs', 'recommender-pmml'], stages: ['raw'] });
    expect(ids(['latency']).stages).toEqual(['latency', 'stepping']);
    expect(ids(['connectors'], true)).toMatchObject({ configurations: [], suites: ['connectors'] });
    expect(() => select(['fraud', 'gpu', 'kafka'], false)).toThrow('--only: gpu, kafka names no configuration, workload, executor, stage or suite');
  });
});

describe("the suites' output", () => {
  it('reads the markdown tables bench/nats.ts prints, titled by the line before them', () => {
    const output = [
      'JetStream runtime bench: 1000 records of ~200 bytes, nats://127.0.0.1:4222',
      '',
      '| path | records/s | of the raw limit |',
      '| --- | ---: | ---: |',
      '| raw consume → publish → ack (limit) | 30000 | 100% |',
      '| sluice, defaults | 21000 | 70% |',
      '',
      '| model-serving replicas | records/s (backlog) | p50 ms | p99 ms (at 4000/s) |',
      '| ---: | ---: | ---: | ---: |',
      '| 1 | 20000 | 3.1 | 9.0 |',
      '| 2 | 31000 | 2.9 | 8.0 |',
    ].join('\n');
    const tables = markdownTables(output);
    expect(tables).toHaveLength(2);
    expect(tables[0]).toEqual({
      title: 'JetStream runtime (JetStream runtime bench: 1000 records of ~200 bytes, nats://127.0.0.1:4222):',
      header: ['path', 'records/s', 'of the raw limit'],
      rows: [
        ['raw consume → publish → ack (limit)', '30000', '100%'],
        ['sluice, defaults', '21000', '70%'],
      ],
    });
    expect(tables[1]?.header[0]).toBe('model-serving replicas');
    expect(tables[1]?.rows).toEqual([
      ['1', '20000', '3.1', '9.0'],
      ['2', '31000', '2.9', '8.0'],
    ]);
    expect(markdownTables('no tables here\n| not | a table |')).toEqual([]);
  });

  it("sets bench/external.ts's rows against the embedded model and the same protocol per record", () => {
    const row = (configuration: string, batchSize: number, recordsPerSecond: number, sustained = true): ExternalRow => ({
      configuration,
      batchSize,
      recordsPerSecond,
      meanBatch: batchSize,
      msPerCall: 1.5,
      pipelineCores: 0.8,
      serverCores: configuration.startsWith('embedded') ? 0 : 0.6,
      halfRate: recordsPerSecond / 2,
      p50: 2,
      p99: 12.5,
      sustained,
      p50At10k: undefined,
      p99At10k: undefined,
      sustainedAt10k: undefined,
    });
    const table = externalTable([row('embedded ONNX', 512, 100_000), row('Open Inference gRPC', 512, 25_000), row('Open Inference gRPC', 1, 1_000, false)]);
    expect(table.rows.map((r) => r.slice(0, 5))).toEqual([
      ['embedded ONNX', '512', '100,000', '1.000×', '–'],
      ['Open Inference gRPC', '512', '25,000', '0.250×', '25.0×'],
      ['Open Inference gRPC', '1', '1,000', '0.010×', '–'],
    ]);
    expect(table.rows[2]?.[9]).toBe('2.00 / 12.5 * (500/s)');
    expect(table.rows[0]?.[10]).toBe('–');
  });
});
