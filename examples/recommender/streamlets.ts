import { join } from 'node:path';
import { outlet, type StreamletPackage } from '../../src/core/streamlet.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import { modelIngress } from '../../src/serving/model-ingress.js';
import { modelServing } from '../../src/serving/model-serving.js';
import { packageRoot } from '../../src/util/package-root.js';
import { recommenderAdapter } from './adapter.js';
import { ConsoleEgress } from './console-egress.js';
import { DataIngress } from './data-ingress.js';
import { RecommenderRecordSchema, RecommenderResultSchema } from './schemas.js';

export const ModelIngress = modelIngress(join(packageRoot(), 'examples', 'recommender', 'models'));

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
