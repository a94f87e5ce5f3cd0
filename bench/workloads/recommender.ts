/**
 * The recommender example: a user and 1–30 products per record (15.5 model rows on average),
 * scored by recommender-a (ONNX, two embedding gathers, a dot product and a sigmoid), its
 * TensorFlow.js twin or the PMML model chain, each built by the example's own code.
 */
import { recommenderAdapter } from '../../examples/recommender/adapter.js';
import { buildRecommenderModel, recommenderModels } from '../../examples/recommender/models/build-models.js';
import { buildRecommenderPmml, recommenderPmmlDescription, recommenderPmmlName } from '../../examples/recommender/models/build-pmml.js';
import { buildRecommenderTfjs, recommenderTfjsModel } from '../../examples/recommender/models/build-tfjs.js';
import { RecommenderRecordSchema, RecommenderResultSchema, type RecommenderRecord, type RecommenderResult } from '../../examples/recommender/schemas.js';
import { ModelServing } from '../../examples/recommender/streamlets.js';
import { recommenderRecords, rowsOf } from '../records.js';
import { modelAsData, type Workload } from './workload.js';

/** Distinct records of the stream: DataIngress's first 16,384 (seed 42), then again. */
const POOL = 16_384;

function onnxModel() {
  const options = recommenderModels[0];
  if (!options) throw new Error('the recommender example defines no model');
  return modelAsData(options.name, options.description, 'ONNX', buildRecommenderModel(options));
}

export function recommenderWorkload(): Workload<RecommenderRecord, RecommenderResult> {
  const pool = recommenderRecords(POOL);
  return {
    id: 'recommender',
    label: 'recommender: a user and 1–30 products per record, one model row per product',
    data: RecommenderRecordSchema,
    result: RecommenderResultSchema,
    serving: ModelServing,
    adapter: recommenderAdapter,
    // The record's `datatype` string carries k (base 36): the record type has no id field.
    record: (k) => {
      const base = pool[k % POOL] as RecommenderRecord;
      return { user: base.user, products: base.products, datatype: k.toString(36) };
    },
    indexOf: (result) => Number.parseInt(result.inputRecord.datatype, 36),
    scored: (result) => result.modelResultMetadata.errors === '',
    rows: rowsOf,
    rawPool: POOL,
    models: {
      onnx: async () => onnxModel(),
      tfjs: async () => {
        // Built on the backend the executor serves on, as build-tfjs.ts does.
        await import('@tensorflow/tfjs-backend-wasm');
        return modelAsData(recommenderTfjsModel.name, recommenderTfjsModel.description, 'TENSORFLOWJS', await buildRecommenderTfjs());
      },
      pmml: async () => modelAsData(recommenderPmmlName, recommenderPmmlDescription, 'PMML', new TextEncoder().encode(buildRecommenderPmml())),
    },
  };
}
