import { config } from '../../src/core/config.js';
import { defineStreamlet } from '../../src/core/streamlet.js';
import { RecommenderResultSchema, type RecommenderResult } from './schemas.js';

/** Prints one compact line per result on stdout. */
export const ConsoleEgress = defineStreamlet({
  description: 'Prints each recommendation result as one line',
  inlets: { in: RecommenderResultSchema },
  config: {
    'top-products': config.integer({ description: 'How many of the best-scored products a line shows', default: 3, min: 1 }),
  },
  async run(ctx) {
    for await (const batch of ctx.inlet('in').batches()) {
      process.stdout.write(batch.map((r) => formatResult(r, ctx.config['top-products'])).join(''));
    }
  },
});

export function formatResult(result: RecommenderResult, top: number): string {
  const { inputRecord, modelResult, modelResultMetadata: meta } = result;
  if (meta.errors) return `user=${inputRecord.user} products=${inputRecord.products.length} error="${meta.errors}"\n`;
  const best = modelResult.products
    .map((product, i) => ({ product, p: modelResult.probabilities[i] ?? 0 }))
    .sort((a, b) => b.p - a.p)
    .slice(0, top)
    .map(({ product, p }) => `${product}:${p.toFixed(3)}`)
    .join(' ');
  return `user=${inputRecord.user} model=${meta.modelName} products=${inputRecord.products.length} top=[${best}] ${meta.duration.toFixed(3)}ms\n`;
}
