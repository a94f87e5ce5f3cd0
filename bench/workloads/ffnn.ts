/**
 * Crayfish's workload: a 28×28 image per record (784 floats in [0,1)) scored by its
 * feed-forward network (./ffnn-model.ts), ten class probabilities out.
 */
import { defineSchema, type AvroValue } from '../../src/core/schema.js';
import { outlet } from '../../src/core/streamlet.js';
import type { ServingAdapter } from '../../src/serving/adapter.js';
import type { ModelMetadata } from '../../src/serving/executor.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import { modelServing } from '../../src/serving/model-serving.js';
import { modelResultMetadataDefinition } from '../../src/serving/result-metadata.js';
import { formatShape, shapeMatches, tensor, type NamedTensors } from '../../src/serving/tensor.js';
import { seededRandom } from '../../src/util/random.js';
import { buildFfnnModel, FFNN_CLASSES, FFNN_INPUT, FFNN_INPUT_WIDTH, FFNN_MODEL_NAME, FFNN_OUTPUT, ffnnParameterCount } from './ffnn-model.js';
import { modelAsData, type Workload } from './workload.js';

const imageRecord = {
  type: 'record',
  name: 'ImageRecord',
  namespace: 'sluice.bench.ffnn',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'pixels', type: { type: 'array', items: 'float' }, doc: `A 28×28 image, row by row: ${FFNN_INPUT_WIDTH} values in [0,1)` },
  ],
} as const;

const classification = {
  type: 'record',
  name: 'Classification',
  namespace: 'sluice.bench.ffnn',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'probabilities', type: { type: 'array', items: 'float' }, doc: `One per class, ${FFNN_CLASSES} in all; empty when not scored` },
    { name: 'modelResultMetadata', type: modelResultMetadataDefinition },
  ],
} as const;

export const ImageRecordSchema = defineSchema(imageRecord);
export type ImageRecord = AvroValue<typeof imageRecord>;
export const ClassificationSchema = defineSchema(classification);
export type Classification = AvroValue<typeof classification>;

/** Images → `pixels` float32 [n,784] → `probabilities` [n,10]. */
export const ffnnAdapter: ServingAdapter<ImageRecord, number[], Classification> = {
  check(metadata: ModelMetadata): string[] {
    const problems: string[] = [];
    const input = metadata.inputs.find((s) => s.name === FFNN_INPUT);
    if (!input) problems.push(`the model has no input '${FFNN_INPUT}'`);
    else if (input.dtype !== 'float32' || !shapeMatches(input.shape, [1, FFNN_INPUT_WIDTH]))
      problems.push(`input '${FFNN_INPUT}' must be float32 [n,${FFNN_INPUT_WIDTH}], the model's is ${input.dtype} ${formatShape(input.shape)}`);
    const output = metadata.outputs.find((s) => s.name === FFNN_OUTPUT);
    if (!output) problems.push(`the model has no output '${FFNN_OUTPUT}'`);
    else if (!shapeMatches(output.shape, [1, FFNN_CLASSES]))
      problems.push(`output '${FFNN_OUTPUT}' must be [n,${FFNN_CLASSES}], the model's is ${formatShape(output.shape)}`);
    return problems;
  },
  reject: (record) => (record.pixels.length === FFNN_INPUT_WIDTH ? undefined : `an image has ${FFNN_INPUT_WIDTH} pixels, this one ${record.pixels.length}`),
  toInputs(records: readonly ImageRecord[]): NamedTensors {
    const data = new Float32Array(records.length * FFNN_INPUT_WIDTH);
    records.forEach((record, r) => data.set(record.pixels, r * FFNN_INPUT_WIDTH));
    return { [FFNN_INPUT]: tensor('float32', [records.length, FFNN_INPUT_WIDTH], data) };
  },
  // A plain loop: `Array.from` of a subarray per record cost a seventh of the pipeline's time in a profile.
  fromOutputs(records: readonly ImageRecord[], outputs: NamedTensors): number[][] {
    const data = outputs[FFNN_OUTPUT]?.data;
    if (!(data instanceof Float32Array)) throw new Error(`the model returned no float32 '${FFNN_OUTPUT}'`);
    const rows = new Array<number[]>(records.length);
    for (let r = 0; r < records.length; r++) {
      const row = new Array<number>(FFNN_CLASSES);
      for (let c = 0; c < FFNN_CLASSES; c++) row[c] = data[r * FFNN_CLASSES + c] as number;
      rows[r] = row;
    }
    return rows;
  },
  result: (record, output, metadata) => ({ id: record.id, probabilities: output ?? [], modelResultMetadata: metadata }),
};

const FfnnServing = modelServing({
  description: "Classifies 28×28 images with Crayfish's feed-forward network",
  data: ImageRecordSchema,
  result: outlet(ClassificationSchema, (c) => String(c.id)),
  adapter: ffnnAdapter,
  executors: defaultExecutors(),
});

/** Distinct images; record k shows image k mod POOL. */
const POOL = 4_096;

export function ffnnWorkload(): Workload<ImageRecord, Classification> {
  const random = seededRandom(42);
  const images = Array.from({ length: POOL }, () => Array.from({ length: FFNN_INPUT_WIDTH }, () => Math.fround(random())));
  return {
    id: 'ffnn',
    label: `Crayfish FFNN: a 28×28 image per record (784 floats), ${ffnnParameterCount().toLocaleString('en-US')} parameters, 10 classes out`,
    data: ImageRecordSchema,
    result: ClassificationSchema,
    serving: FfnnServing,
    adapter: ffnnAdapter,
    record: (k) => ({ id: k, pixels: images[k % POOL] as number[] }),
    indexOf: (result) => result.id,
    scored: (result) => result.modelResultMetadata.errors === '',
    rows: (records) => records.length,
    rawPool: POOL,
    models: { onnx: async () => modelAsData(FFNN_MODEL_NAME, `Crayfish's FFNN ${ffnnParameterCount()} parameters`, 'ONNX', buildFfnnModel()) },
  };
}
