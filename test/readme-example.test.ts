// The streamlet shown in README.md, run through the public API and the testkit.
import { describe, expect, it } from 'vitest';
import { config, defineSchema, defineStreamlet, outlet } from '../src/index.js';
import { startStreamlet } from '../src/testkit.js';

const Reading = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'plant',
  fields: [
    { name: 'sensor', type: 'string' },
    { name: 'value', type: 'double' },
  ],
} as const);

const Threshold = defineStreamlet({
  description: 'Passes readings above a limit',
  inlets: { in: Reading },
  outlets: { out: outlet(Reading, (r) => r.sensor) },
  config: { limit: config.double({ description: 'Lowest value passed', default: 10 }) },
  async run(ctx) {
    for await (const batch of ctx.inlet('in').batches()) {
      await ctx.emitAll(
        'out',
        batch.filter((r) => r.value > ctx.config.limit),
      );
    }
  },
});

describe('the README streamlet', () => {
  it('passes readings above its configured limit', async () => {
    const h = await startStreamlet(Threshold, { config: { limit: '2.5' } });
    await h.send(
      'in',
      [1, 2, 3, 4].map((value) => ({ sensor: `s${value}`, value })),
    );
    await h.endInput('in');
    await h.stop();
    expect(h.outputs('out')).toEqual([
      { sensor: 's3', value: 3 },
      { sensor: 's4', value: 4 },
    ]);
  });
});
