import { afterEach, describe, expect, it } from 'vitest';
import { defineSchema, type AvroValue } from '../../src/core/schema.js';
import { outlet } from '../../src/core/streamlet.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import type { ModelMetadata } from '../../src/serving/executor.js';
import { onnxExecutor } from '../../src/serving/executors/onnx.js';
import { FieldsMapping, fieldsAdapter, type FieldValues } from '../../src/serving/fields-adapter.js';
import { modelServing } from '../../src/serving/model-serving.js';
import { encodeModel, float32Initializer, node, valueInfo } from '../../src/serving/onnx-builder.js';
import { ExecutorRegistry } from '../../src/serving/registry.js';
import { modelResultMetadataDefinition, type ModelResultMetadata } from '../../src/serving/result-metadata.js';
import { tensor, type DType, type NamedTensors } from '../../src/serving/tensor.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { tempDir } from '../support/recommender.js';

interface Reading {
  id: string;
  a: number | null;
  b: number | null;
  c?: number;
  label: string;
}

const mapping = () => new FieldsMapping<Reading>({ inputs: { x: ['a', 'b'], y: ['c'] }, outputs: [{ name: 'out', width: 2 }, 'extra'] });
const reading = (id: string, a: number | null, b: number | null, c: number | undefined = 0): Reading => ({ id, a, b, c, label: id });
const spec = (name: string, dtype: DType, shape: number[]) => ({ name, dtype, shape });
const fitting: ModelMetadata = {
  inputs: [spec('x', 'float32', [-1, 2]), spec('y', 'float32', [-1, 1])],
  outputs: [spec('out', 'float32', [-1, 2]), spec('extra', 'float64', [-1, 1])],
};
const okMetadata: ModelResultMetadata = { errors: '', modelName: 'm', source: 'ONNX embedded', startTime: 1, duration: 0.5 };

describe('FieldsMapping', () => {
  it('fills one float32 row per record, in field order, for each input tensor', () => {
    const inputs = mapping().toInputs([reading('r1', 1, 2, 3), reading('r2', -4.5, 0.25, 6)]);
    expect(inputs.x?.dtype).toBe('float32');
    expect(inputs.x?.shape).toEqual([2, 2]);
    expect(Array.from(inputs.x?.data as Float32Array)).toEqual([1, 2, -4.5, 0.25]);
    expect(inputs.y?.shape).toEqual([2, 1]);
    expect(Array.from(inputs.y?.data as Float32Array)).toEqual([3, 6]);
  });

  it('rejects records with a null, undefined or NaN field, naming the missing fields', () => {
    const m = mapping();
    expect(m.reject(reading('ok', 1, 2, 3))).toBeUndefined();
    expect(m.reject(reading('nulls', null, null))).toBe('cannot score the record: missing fields: a, b');
    expect(m.reject({ ...reading('undef', 1, 2), c: undefined })).toBe('cannot score the record: missing fields: c');
    expect(m.reject(reading('nan', Number.NaN, 1))).toBe('cannot score the record: missing fields: a');
  });

  it('reads each record its output values, in order', () => {
    const outputs: NamedTensors = {
      out: tensor('float32', [2, 2], Float32Array.from([0.5, 1.5, 2.5, 3.5])),
      extra: tensor('float64', [2, 1], Float64Array.from([10, 20])),
    };
    expect(mapping().fromOutputs([reading('r1', 1, 2, 3), reading('r2', 5, 6, 7)], outputs)).toEqual([
      { out: [0.5, 1.5], extra: [10] },
      { out: [2.5, 3.5], extra: [20] },
    ]);
  });

  it('refuses values a float32 cannot hold, naming field and value', () => {
    const m = mapping();
    expect(m.reject(reading('inf', Number.POSITIVE_INFINITY, 1e39, 1))).toBe(
      'cannot score the record: fields that are not float32 numbers: a=Infinity, b=1e+39',
    );
    expect(m.reject({ ...reading('mixed', null, 1, 1), b: '7' as unknown as number })).toBe(
      'cannot score the record: missing fields: a; fields that are not float32 numbers: b="7"',
    );
    expect(m.reject(reading('fine', -3.4e38, 0, 1))).toBeUndefined();
  });

  it('makes zero rows from an empty batch', () => {
    expect(mapping().toInputs([]).x?.shape).toEqual([0, 2]);
  });

  it('reads int64 and bool outputs as numbers', () => {
    const m = new FieldsMapping<Reading>({ inputs: { x: ['a'] }, outputs: ['ids', 'flags'] });
    const out = m.fromOutputs([reading('r', 1, 1)], {
      ids: tensor('int64', [1, 2], BigInt64Array.from([7n, -2n])),
      flags: tensor('bool', [1], Uint8Array.from([1])),
    });
    expect(out).toEqual([{ ids: [7, -2], flags: [1] }]);
  });

  it('fails the batch when the model answers with the wrong number of rows or values, or without an output', () => {
    const m = mapping();
    const records = [reading('r1', 1, 2), reading('r2', 3, 4)];
    const extra = tensor('float32', [2, 1], Float32Array.from([1, 2]));
    expect(() => m.fromOutputs(records, { out: tensor('float32', [3, 2], new Float32Array(6)), extra })).toThrow(
      "output 'out' has 3 rows for a batch of 2 records (shape [3,2])",
    );
    expect(() => m.fromOutputs(records, { out: tensor('float32', [2, 3], new Float32Array(6)), extra })).toThrow(
      "output 'out' holds 6 values for 2 records, 2 per record expected",
    );
    expect(() => m.fromOutputs(records, { extra })).toThrow("the model returned no output 'out' (its outputs: extra)");
    expect(() => m.fromOutputs(records, { out: tensor('string', [2, 2], ['a', 'b', 'c', 'd']), extra })).toThrow(
      "output 'out' holds strings, numbers expected",
    );
  });

  it('accepts a model whose signature fits', () => {
    expect(mapping().check(fitting)).toEqual([]);
    // Free feature dimensions and unknown output shapes fit too.
    expect(
      mapping().check({
        inputs: [spec('x', 'float32', [-1, -1]), spec('y', 'float32', [-1, 1])],
        outputs: [spec('out', 'float32', []), spec('extra', 'int64', [-1])],
      }),
    ).toEqual([]);
  });

  const misfits: [string, ModelMetadata, string[]][] = [
    [
      'a missing input',
      { ...fitting, inputs: [spec('features', 'float32', [-1, 2]), spec('y', 'float32', [-1, 1])] },
      ["the model has no input 'x' (its inputs: features, y)", "the model also takes input 'features', which no record field fills"],
    ],
    [
      'a wrong dtype',
      { ...fitting, inputs: [spec('x', 'float64', [-1, 2]), spec('y', 'float32', [-1, 1])] },
      ["input 'x' must be float32, the model's is float64"],
    ],
    [
      'a wrong rank',
      { ...fitting, inputs: [spec('x', 'float32', [-1, 2, 1]), spec('y', 'float32', [-1, 1])] },
      ["input 'x' must be a matrix [n,2] (a row of 2 fields per record), the model's shape is [?,2,1]"],
    ],
    [
      'a row width other than the field count',
      { ...fitting, inputs: [spec('x', 'float32', [-1, 3]), spec('y', 'float32', [-1, 1])] },
      ["input 'x' takes 3 values per row, but the mapping fills 2 fields (a, b)"],
    ],
    [
      'a fixed batch dimension',
      { ...fitting, inputs: [spec('x', 'float32', [1, 2]), spec('y', 'float32', [-1, 1])] },
      ["input 'x' has a fixed batch dimension of 1: records are scored in batches, so it must be free"],
    ],
    [
      'a missing output',
      { ...fitting, outputs: [spec('extra', 'float32', [-1, 1]), spec('logits', 'float32', [-1, 2])] },
      ["the model has no output 'out' (its outputs: extra, logits)"],
    ],
    [
      'an output of another width',
      { ...fitting, outputs: [spec('out', 'float32', [-1, 3]), spec('extra', 'float32', [-1, 1])] },
      ["output 'out' gives 3 values per record (shape [?,3]), 2 expected"],
    ],
    [
      'a string output',
      { ...fitting, outputs: [spec('out', 'float32', [-1, 2]), spec('extra', 'string', [-1, 1])] },
      ["output 'extra' must be numeric, the model's is string"],
    ],
  ];

  it.each(misfits)('names what does not fit: %s', (_what, metadata, problems) => {
    expect(mapping().check(metadata)).toEqual(problems);
  });

  it('rejects a mapping that cannot work, when it is made', () => {
    expect(() => new FieldsMapping<Reading>({ inputs: {}, outputs: ['out'] })).toThrow('a fields mapping needs at least one input tensor');
    expect(() => new FieldsMapping<Reading>({ inputs: { x: [] }, outputs: ['out'] })).toThrow("input 'x' of the fields mapping has no fields");
    expect(() => new FieldsMapping<Reading>({ inputs: { x: ['a', 'b', 'a'] }, outputs: ['out'] })).toThrow("input 'x' of the fields mapping names a twice");
    expect(() => new FieldsMapping<Reading>({ inputs: { x: ['a'] }, outputs: [] })).toThrow('a fields mapping needs at least one output tensor');
    expect(() => new FieldsMapping<Reading>({ inputs: { x: ['a'] }, outputs: [{ name: 'out', width: 0 }] })).toThrow(
      "output 'out': width must be a positive integer, got 0",
    );
  });
});

describe('fieldsAdapter', () => {
  const seen: { record: Reading; values: FieldValues | undefined; errors: string }[] = [];
  const adapter = fieldsAdapter<Reading, string>({ inputs: { x: ['a', 'b'] }, outputs: ['out'] }, (record, values, metadata) => {
    seen.push({ record, values, errors: metadata.errors });
    return record.id;
  });
  afterEach(() => {
    seen.length = 0;
  });

  it('rejects what the mapping rejects, and hands result() the values or, with metadata.errors, undefined', () => {
    expect(adapter.reject?.(reading('bad', 1, null))).toBe('cannot score the record: missing fields: b');
    const [good] = adapter.fromOutputs([reading('good', 1, 2)], { out: tensor('float32', [1, 1], Float32Array.from([0.75])) });
    adapter.result(reading('good', 1, 2), good, okMetadata);
    adapter.result(reading('failed', 1, 2), undefined, { ...okMetadata, errors: 'inference failed' });
    expect(seen.map(({ record, ...rest }) => ({ id: record.id, ...rest }))).toEqual([
      { id: 'good', values: { out: [0.75] }, errors: '' },
      { id: 'failed', values: undefined, errors: 'inference failed' },
    ]);
  });
});

// Through the real model-serving streamlet and the ONNX executor.
const measurement = {
  type: 'record',
  name: 'Measurement',
  namespace: 'test.fields',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'p', type: ['null', 'double'], default: null },
    { name: 'q', type: ['null', 'double'], default: null },
    { name: 'r', type: ['null', 'double'], default: null },
  ],
} as const;
const scoredMeasurement = {
  type: 'record',
  name: 'ScoredMeasurement',
  namespace: 'test.fields',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'value', type: ['null', 'double'], default: null },
    { name: 'modelResultMetadata', type: modelResultMetadataDefinition },
  ],
} as const;
type Measurement = AvroValue<typeof measurement>;
type ScoredMeasurement = AvroValue<typeof scoredMeasurement>;

/** value = 1·p + 2·q + 3·r + 0.5, as ONNX: Gemm over the [n,3] input. */
function linearModel(input = 'inputs', width = 3): Buffer {
  return Buffer.from(
    encodeModel({
      name: 'linear',
      inputs: [valueInfo(input, 'float32', ['batch', width])],
      outputs: [valueInfo('value', 'float32', ['batch', 1])],
      initializers: [
        float32Initializer(
          'w',
          [width, 1],
          Array.from({ length: width }, (_, i) => i + 1),
        ),
        float32Initializer('b', [1], [0.5]),
      ],
      nodes: [node('Gemm', [input, 'w', 'b'], ['value'])],
    }),
  );
}

const descriptor = (modelName: string, bytes: Buffer): ModelDescriptor => ({
  modelName,
  description: modelName,
  modelType: 'ONNX',
  modelBytes: bytes,
  modelSourceLocation: null,
});

describe('a fields adapter in the model-serving streamlet', () => {
  const Serving = modelServing({
    description: 'linear model over fields',
    data: defineSchema(measurement),
    result: outlet(defineSchema(scoredMeasurement), (r) => r.id),
    adapter: fieldsAdapter<Measurement, ScoredMeasurement>(
      { inputs: { inputs: ['p', 'q', 'r'] }, outputs: [{ name: 'value', width: 1 }] },
      (record, values, metadata) => ({
        id: record.id,
        value: values?.value?.[0] ?? null,
        modelResultMetadata: metadata,
      }),
    ),
    executors: new ExecutorRegistry().register(onnxExecutor).seal(),
  });
  let harness: StreamletHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });
  const state = async (h: StreamletHarness) =>
    (await (await fetch(`${h.url}/state`)).json()) as {
      calls: number;
      failedRecords: number;
      updates: { rejected: number; lastRejected: { reason: string }[] };
    };
  const install = async (h: StreamletHarness, d: ModelDescriptor) => {
    const before = h.committed('in-1');
    await h.send('in-1', [d]);
    await h.until(() => h.committed('in-1') > before);
  };

  it('scores the good records of a batch in one call and answers the ones with missing fields with an error naming them', async () => {
    const h = (harness = await startStreamlet(Serving, { name: 'model-serving', volumes: { models: tempDir() } }));
    await install(h, descriptor('linear', linearModel()));
    await h.send('in-0', [
      { id: 'a', p: 1, q: 1, r: 1 },
      { id: 'b', p: null, q: 2, r: null },
      { id: 'c', p: 0.5, q: -1, r: 2 },
    ]);
    await h.until(() => h.outputs('out').length === 3);
    const out = h.outputs('out') as ScoredMeasurement[];
    expect(out.map((r) => [r.id, r.value, r.modelResultMetadata.errors])).toEqual([
      ['a', 6.5, ''],
      ['b', null, 'cannot score the record: missing fields: p, r'],
      ['c', 5, ''],
    ]);
    expect(out.every((r) => r.modelResultMetadata.modelName === 'linear')).toBe(true);
    const s = await state(h);
    // The good records are scored in one call; the rejected one counts as failed.
    expect(s.calls).toBe(1);
    expect(s.failedRecords).toBe(1);
  });

  it('rejects a model update whose signature does not fit, with the reason, and keeps the current model', async () => {
    const h = (harness = await startStreamlet(Serving, { name: 'model-serving', volumes: { models: tempDir() } }));
    await install(h, descriptor('linear', linearModel()));
    await install(h, descriptor('too-wide', linearModel('inputs', 4)));
    await install(h, descriptor('renamed', linearModel('features')));
    const s = await state(h);
    expect(s.updates.rejected).toBe(2);
    expect(s.updates.lastRejected.map((r) => r.reason)).toEqual([
      "model renamed does not fit: the model has no input 'inputs' (its inputs: features); the model also takes input 'features', which no record field fills",
      "model too-wide does not fit: input 'inputs' takes 4 values per row, but the mapping fills 3 fields (p, q, r)",
    ]);
    await h.send('in-0', [{ id: 'a', p: 1, q: 0, r: 0 }]);
    await h.until(() => h.outputs('out').length === 1);
    expect(h.outputs('out')[0]).toMatchObject({ value: 1.5, modelResultMetadata: { modelName: 'linear', errors: '' } });
  });

  it('answers a batch made only of records with missing fields without calling the model', async () => {
    const h = (harness = await startStreamlet(Serving, { name: 'model-serving', volumes: { models: tempDir() } }));
    await install(h, descriptor('linear', linearModel()));
    await h.send('in-0', [
      { id: 'x', p: null, q: 1, r: 1 },
      { id: 'y', p: 1, q: 1, r: null },
    ]);
    await h.until(() => h.outputs('out').length === 2);
    expect((h.outputs('out') as ScoredMeasurement[]).map((r) => [r.id, r.modelResultMetadata.errors])).toEqual([
      ['x', 'cannot score the record: missing fields: p'],
      ['y', 'cannot score the record: missing fields: r'],
    ]);
    expect((await state(h)).calls).toBe(0);
  });
});
