import { setTimeout as sleep } from 'node:timers/promises';
import { config } from '../../src/core/config.js';
import { defineStreamlet, outlet } from '../../src/core/streamlet.js';
import { seededRandom } from '../../src/util/random.js';
import { productCount, userCount } from './models/build-models.js';
import { RecommenderRecordSchema, type RecommenderRecord } from './schemas.js';

const TICK_MS = 10;

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
    const limit = ctx.config['max-records'] || Number.POSITIVE_INFINITY;
    const rate = ctx.config['records-per-second'];
    const next = (): RecommenderRecord => {
      const user = Math.floor(random() * userCount);
      const products = new Array<number>(1 + Math.floor(random() * 30));
      for (let i = 0; i < products.length; i++) products[i] = Math.floor(random() * productCount);
      return { user, products, datatype: 'recommender' };
    };
    const started = performance.now();
    let sent = 0;
    while (sent < limit && !ctx.signal.aborted) {
      // Emit what is due since the start, in one batch per tick, so high rates stay accurate.
      const due = rate === 0 ? sent + 512 : Math.floor(((performance.now() - started) / 1000) * rate) + 1;
      const count = Math.min(due, limit) - sent;
      if (count > 0) {
        const batch = new Array<RecommenderRecord>(count);
        for (let i = 0; i < count; i++) batch[i] = next();
        await ctx.emitAll('out', batch);
        sent += count;
      }
      if (rate > 0) await sleep(TICK_MS, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
    ctx.log.info('data ingress done', { records: sent });
  },
});
