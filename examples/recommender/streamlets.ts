import type { StreamletPackage } from '../../src/core/streamlet.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import { modelServing } from '../../src/serving/model-serving.js';
import { recommenderAdapter } from './adapter.js';
import { ConsoleEgress } from './console-egress.js';
import { DataIngress } from './data-ingress.js';
import { ModelIngress } from './model-ingress.js';
import { RecommenderRecordSchema, RecommenderResultSchema } from './schemas.js';
import { outlet } from '../../src/core/streamlet.js';

export const ModelServing = modelServing({
  description: 'Scores recommender requests with the model most recently received on in-1',
  data: RecommenderRecordSchema,
  result: outlet(RecommenderResultSchema, (r) => String(r.inputRecord.user)),
  adapter: recommenderAdapter,
  executors: defaultExecutors(),
});

/** The recommender example's streamlet classes, as blueprints name them: `recommender.<Class>`. */
const streamlets: StreamletPackage = { DataIngress, ModelIngress, ModelServing, ConsoleEgress };
export default streamlets;
