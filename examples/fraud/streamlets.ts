import { join } from 'node:path';
import type { StreamletPackage } from '../../src/core/streamlet.js';
import { modelIngress } from '../../src/serving/model-ingress.js';
import { packageRoot } from '../../src/util/package-root.js';
import { ConsoleEgress } from './console-egress.js';
import { fraudModelServing } from './model-serving.js';
import { TransactionIngress } from './transaction-ingress.js';

export const ModelIngress = modelIngress(join(packageRoot(), 'examples', 'fraud', 'models'));
export const ModelServing = fraudModelServing();

/** The fraud example's streamlet classes, as blueprints name them: `fraud.<Class>`. */
const streamlets: StreamletPackage = { TransactionIngress, ModelIngress, ModelServing, ConsoleEgress };
export default streamlets;
export { ConsoleEgress, TransactionIngress };
