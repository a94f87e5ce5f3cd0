import { config } from '../../src/core/config.js';
import { defineStreamlet, outlet } from '../../src/core/streamlet.js';
import { paced } from '../../src/util/pacing.js';
import { TransactionGenerator } from './generator.js';
import { TransactionRecordSchema, type TransactionRecord } from './schemas.js';

/** Generates card transactions: mostly normal, a known fraction fraudulent, a few with a missing field. */
export const TransactionIngress = defineStreamlet({
  description: 'Generates card transactions (28 features and an amount) with a known fraction of fraud and of records with a missing field',
  outlets: { out: outlet(TransactionRecordSchema, (r) => String(r.id)) },
  config: {
    'records-per-second': config.double({ description: 'Generation rate; 0 means as fast as the pipeline takes them', default: 200, min: 0 }),
    'max-records': config.integer({ description: 'Stop after this many records; 0 means never', default: 0, min: 0 }),
    seed: config.integer({ description: 'Seed of the generator, for a repeatable stream', default: 42 }),
    'fraud-fraction': config.double({ description: 'Probability that a transaction is fraudulent', default: 0.01, min: 0, max: 1 }),
    'missing-fraction': config.double({ description: 'Probability that a transaction has a missing field', default: 0.005, min: 0, max: 1 }),
  },
  async run(ctx) {
    const generator = new TransactionGenerator({
      seed: ctx.config.seed,
      fraudFraction: ctx.config['fraud-fraction'],
      missingFraction: ctx.config['missing-fraction'],
    });
    const pacing = { rate: ctx.config['records-per-second'], limit: ctx.config['max-records'] || Number.POSITIVE_INFINITY, signal: ctx.signal };
    const sent = await paced(pacing, async (count) => {
      const batch = new Array<TransactionRecord>(count);
      for (let i = 0; i < count; i++) batch[i] = generator.next();
      await ctx.emitAll('out', batch);
    });
    ctx.log.info('transaction ingress done', { records: sent });
  },
});
