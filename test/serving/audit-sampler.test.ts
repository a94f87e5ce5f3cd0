import { describe, expect, it } from 'vitest';
import { AuditSampler } from '../../src/serving/audit.js';
import type { ModelResultMetadata } from '../../src/serving/result-metadata.js';

const metadata: ModelResultMetadata = { errors: '', modelName: 'm', source: 's', startTime: 0, duration: 0.1 };

describe('the audit sampler', () => {
  it.each([0.1, 0.01, 0.25, 1 / 3, 0.7, 1])('picks exactly ⌊n·%s⌋ of n records, spread evenly, across batches', (rate) => {
    const sampler = new AuditSampler('serving', rate);
    let picked = 0;
    for (let batch = 0; batch < 100; batch++) {
      const records = Array.from({ length: 37 }, (_, i) => batch * 37 + i);
      picked += sampler.sample(records, records, records.map(() => metadata)).length;
    }
    expect(picked).toBe(Math.floor(3_700 * rate));
  });

  it('picks none at rate 0', () => {
    expect(new AuditSampler('serving', 0).sample([1, 2], [1, 2], [metadata, metadata])).toEqual([]);
  });
});
