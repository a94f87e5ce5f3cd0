import { defineSchema, type AvroValue } from '../core/schema.js';

/**
 * The kinds of model a descriptor can name. Readers resolve a symbol they do not know (from a
 * newer writer) to `UNKNOWN`, which no executor serves: the update is rejected, not the stream.
 */
export const modelTypes = ['ONNX', 'TENSORFLOWJS', 'PMML', 'OPEN_INFERENCE', 'TENSORFLOW_SERVING', 'SELDON', 'UNKNOWN'] as const;

const modelDescriptorDefinition = {
  type: 'record',
  name: 'ModelDescriptor',
  namespace: 'sluice.serving',
  doc: 'Which model to serve: its bytes (model as data) or where it lives.',
  fields: [
    { name: 'modelName', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'modelType', type: { type: 'enum', name: 'ModelType', symbols: modelTypes, default: 'UNKNOWN' } },
    { name: 'modelBytes', type: ['null', 'bytes'], default: null },
    { name: 'modelSourceLocation', type: ['null', 'string'], default: null },
  ],
} as const;

export const ModelDescriptorSchema = defineSchema(modelDescriptorDefinition);
export type ModelDescriptor = AvroValue<typeof modelDescriptorDefinition>;
export type ModelType = ModelDescriptor['modelType'];
