import { config } from '../../src/core/config.js';
import { defineStreamlet, outlet } from '../../src/core/streamlet.js';
import { paced } from '../../src/util/pacing.js';
import { seededRandom } from '../../src/util/random.js';
import { productCount, userCount } from './models/build-models.js';
import { RecommenderRecordSchema, type RecommenderRecord } from './schemas.js';

/** Generates recommender records as the reference does: a user, and 1–30 products to score. */
export const DataIngress = defineStreamlet({
  description: 'Generates recommender requests: user uniform in [0,1000), 1–30 products uniform in [0,300)',
  outlets: { out: outlet(RecommenderRecordSchema, (r) => String(r.user)) },
  config: {
    'records-per-second': config.double({ description: 'Generation rate; 0 means as fast as the pipeline takes them', default: 50, min: 0 }),
    'max-records': config.integer({ description: 'Stop after this many records; 0 means never', default: 0, min: 0 }),
    seed: config.integer({ description: 'Seed of the generator, for a repeatable stream', default: 42 }),
  },
  async run(ctx) {
    const random = seededRandom(ctx.config.seed);
    const next = (): RecommenderRecord => {
      const user = Math.floor(random() * userCount);
      const products = new Array<number>(1 + Math.floor(random() * 30));
      for (let i = 0; i < products.length; i++) products[i] = Math.floor(random() * productCount);
      return { user, products, datatype: 'recommender' };
    };
    const pacing = { rate: ctx.config['records-per-second'], limit: ctx.config['max-records'] || Number.POSITIVE_INFINITY, signal: ctx.signal };
    const sent = await paced(pacing, async (count) => {
      const batch = new Array<RecommenderRecord>(count);
      for (let i = 0; i < count; i++) batch[i] = next();
      await ctx.emitAll('out', batch);
    });
    ctx.log.info('data ingress done', { records: sent });
  },
});
