import { defineSchema, type AvroValue } from '../core/schema.js';

/** What every scored result carries about how it was scored (the reference's contract). */
export const modelResultMetadataDefinition = {
  type: 'record',
  name: 'ModelResultMetadata',
  namespace: 'sluice.serving',
  fields: [
    { name: 'errors', type: 'string', doc: 'Empty when scoring succeeded.' },
    { name: 'modelName', type: 'string' },
    { name: 'source', type: 'string', doc: 'Which path scored it: the model type, and the server for an external model.' },
    { name: 'startTime', type: 'long', doc: 'When the serving model was installed (ms since the epoch).' },
    // A double, not the reference's long: milliseconds alone hide everything that matters here.
    // Avro promotes long to double, so readers of this schema still read long-writing producers.
    { name: 'duration', type: 'double', doc: 'Time of the model call that scored this record (ms, sub-millisecond precision).' },
  ],
} as const;

export const ModelResultMetadataSchema = defineSchema(modelResultMetadataDefinition);
export type ModelResultMetadata = AvroValue<typeof modelResultMetadataDefinition>;

export const NO_MODEL_ERROR = 'No model server defined';
