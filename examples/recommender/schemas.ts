import { defineSchema, type AvroValue } from '../../src/core/schema.js';
import { modelResultMetadataDefinition } from '../../src/serving/result-metadata.js';

const recommenderRecord = {
  type: 'record',
  name: 'RecommenderRecord',
  namespace: 'sluice.examples.recommender',
  fields: [
    { name: 'user', type: 'long' },
    { name: 'products', type: { type: 'array', items: 'long' } },
    { name: 'datatype', type: 'string', default: 'recommender' },
  ],
} as const;

const recommenderServingOutput = {
  type: 'record',
  name: 'RecommenderServingOutput',
  namespace: 'sluice.examples.recommender',
  fields: [
    { name: 'products', type: { type: 'array', items: 'string' } },
    { name: 'probabilities', type: { type: 'array', items: 'double' } },
  ],
} as const;

const recommenderResult = {
  type: 'record',
  name: 'RecommenderResult',
  namespace: 'sluice.examples.recommender',
  fields: [
    { name: 'inputRecord', type: recommenderRecord },
    { name: 'modelResult', type: recommenderServingOutput },
    { name: 'modelResultMetadata', type: modelResultMetadataDefinition },
  ],
} as const;

export const RecommenderRecordSchema = defineSchema(recommenderRecord);
export type RecommenderRecord = AvroValue<typeof recommenderRecord>;
export type RecommenderServingOutput = AvroValue<typeof recommenderServingOutput>;
export const RecommenderResultSchema = defineSchema(recommenderResult);
export type RecommenderResult = AvroValue<typeof recommenderResult>;
