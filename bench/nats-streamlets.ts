/** The streamlets of `bench/nats.ts`: a pass-through that links each output to its input, and stand-ins that give its topics ends. */
import { config } from '../src/core/config.js';
import { defineSchema } from '../src/core/schema.js';
import { defineStreamlet, outlet } from '../src/core/streamlet.js';

/** 200-byte records, as in DESIGN.md's figures. */
export const Item = defineSchema({
  type: 'record',
  name: 'Item',
  namespace: 'bench',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'pad', type: 'string' },
  ],
} as const);
export const pad = 'x'.repeat(190);

export const Doubler = defineStreamlet({
  description: 'Passes items on, each output linked to its input',
  inlets: { in: Item },
  outlets: { out: outlet(Item) },
  config: { linked: config.boolean({ description: 'Link outputs to inputs (message ids)', default: true }) },
  async run(ctx) {
    for await (const batch of ctx.inlet('in').batches()) await ctx.emitAll('out', batch, ctx.config.linked ? { origins: batch } : {});
  },
});

export const Feed = defineStreamlet({ description: 'Stands for what fills the items topic', outlets: { out: outlet(Item) }, async run() {} });
export const Sink = defineStreamlet({ description: 'Stands for what reads the out topic', inlets: { in: Item }, async run() {} });
