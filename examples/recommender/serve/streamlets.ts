/**
 * The recommender example's streamlets for scoring through a model server: a model ingress that
 * publishes one descriptor naming the model on the server (`modelSourceLocation`, no bytes).
 * recommender-serve.conf loads this module through its `modules` section.
 */
import { config } from '../../../src/core/config.js';
import { defineStreamlet, outlet } from '../../../src/core/streamlet.js';
import { ModelDescriptorSchema, type ModelDescriptor } from '../../../src/serving/descriptor.js';
import { parseLocation } from '../../../src/serving/remote/location.js';

const remoteTypes = ['OPEN_INFERENCE', 'TENSORFLOW_SERVING', 'SELDON'] as const;

/** Publishes the descriptor of a model served by a model server, once; model-serving keeps it (and restores it on restart). */
export const ServedModelIngress = defineStreamlet({
  description: 'Publishes one model descriptor naming a model on a model server (sluice serve, Triton, TF Serving, Seldon)',
  outlets: { out: outlet(ModelDescriptorSchema, (d) => d.modelName) },
  config: {
    'model-type': config.oneOf({ description: 'The protocol the server speaks', values: remoteTypes, default: 'OPEN_INFERENCE' }),
    location: config.string({
      description: 'The model on its server(s): <http|grpc>://host:port[,host:port...]/<model>[?options] (docs/remote-executors.md)',
      default: 'grpc://127.0.0.1:8081/recommender',
    }),
    'model-name': config.string({ description: 'The name results and /state report', default: 'recommender-served' }),
  },
  async run(ctx) {
    const { location } = ctx.config;
    const descriptor: ModelDescriptor = {
      modelName: ctx.config['model-name'],
      description: `the recommender on ${location}`,
      modelType: ctx.config['model-type'],
      modelBytes: null,
      modelSourceLocation: location,
    };
    // A wrong location stops the start here, naming every problem, rather than as a rejected update in model-serving's log.
    parseLocation(descriptor, ctx.config['model-type']);
    await ctx.emit('out', descriptor);
    ctx.log.info('published the served model', { modelType: ctx.config['model-type'], location });
  },
});

export default { ServedModelIngress };
