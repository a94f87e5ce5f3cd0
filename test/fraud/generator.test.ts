import { describe, expect, it } from 'vitest';
import { INPUT_WIDTH, TransactionGenerator } from '../../examples/fraud/generator.js';
import { transactionFeatures, TransactionRecordSchema, type TransactionRecord } from '../../examples/fraud/schemas.js';

const draw = (count: number, options: ConstructorParameters<typeof TransactionGenerator>[0]): TransactionRecord[] => {
  const generator = new TransactionGenerator(options);
  return Array.from({ length: count }, () => generator.next());
};
const nulls = (r: TransactionRecord) => transactionFeatures.filter((f) => r[f] === null);

describe('TransactionGenerator', () => {
  it('draws the configured fractions of fraud and of records with a missing field (binomial, within 4 standard deviations)', () => {
    for (const [fraudFraction, missingFraction] of [
      [0.01, 0.005],
      [0.2, 0.1],
    ] as const) {
      const n = 100_000;
      const records = draw(n, { seed: 11, fraudFraction, missingFraction });
      const within = (count: number, total: number, p: number) => expect(Math.abs(count - total * p)).toBeLessThan(4 * Math.sqrt(total * p * (1 - p)) + 1);
      within(records.filter((r) => r.label).length, n, fraudFraction);
      within(records.filter((r) => nulls(r).length > 0).length, n, missingFraction);
      // Missing fields are independent of the label.
      const fraud = records.filter((r) => r.label);
      within(fraud.filter((r) => nulls(r).length > 0).length, fraud.length, missingFraction);
    }
  });

  it('writes valid records: ids counting up, one or two missing fields at most, every other feature a finite number', () => {
    const records = draw(20_000, { seed: 3, missingFraction: 0.05, firstId: 100 });
    expect(records.map((r) => r.id)).toEqual(Array.from({ length: records.length }, (_, i) => 100 + i));
    for (const r of records) {
      expect(TransactionRecordSchema.problems(r)).toEqual([]);
      expect(nulls(r).length).toBeLessThanOrEqual(2);
      for (const f of transactionFeatures) if (r[f] !== null) expect(Number.isFinite(r[f])).toBe(true);
      expect(r.amount === null || (r.amount as number) > 0).toBe(true);
    }
  });

  it('repeats a stream for a seed, and draws another one for another seed', () => {
    expect(draw(500, { seed: 5 })).toEqual(draw(500, { seed: 5 }));
    expect(draw(50, { seed: 5 })).not.toEqual(draw(50, { seed: 6 }));
  });

  it('draws every seed from the same structure: normal features of two seeds have the same means and spreads', () => {
    const stats = (seed: number) => {
      const n = 20_000;
      const rows = new TransactionGenerator({ seed }).normalRows(n);
      const mean = new Float64Array(INPUT_WIDTH);
      const sd = new Float64Array(INPUT_WIDTH);
      rows.forEach((v, i) => (mean[i % INPUT_WIDTH] = (mean[i % INPUT_WIDTH] as number) + v / n));
      rows.forEach((v, i) => (sd[i % INPUT_WIDTH] = (sd[i % INPUT_WIDTH] as number) + (v - (mean[i % INPUT_WIDTH] as number)) ** 2 / n));
      return { mean, sd: sd.map(Math.sqrt) };
    };
    const a = stats(1);
    const b = stats(2);
    for (let j = 0; j < INPUT_WIDTH; j++) {
      expect(Math.abs((a.mean[j] as number) - (b.mean[j] as number))).toBeLessThan(0.05 * (a.sd[j] as number));
      expect((a.sd[j] as number) / (b.sd[j] as number)).toBeGreaterThan(0.95);
      expect((a.sd[j] as number) / (b.sd[j] as number)).toBeLessThan(1.05);
    }
    // Like PCA components, v1 varies most and v28 least (sd 2 and 0.3 by construction).
    expect(a.sd[0]).toBeGreaterThan(1.9);
    expect(a.sd[27]).toBeLessThan(0.32);
  });

  it('makes fraud look different: its features are far from normal transactions', () => {
    // A fraud record's features carry a component along directions normal ones never take;
    // the projection on a normal-only linear fit is a cheap check without a model.
    const normal = draw(5_000, { seed: 8, fraudFraction: 0 });
    const fraud = draw(5_000, { seed: 8, fraudFraction: 1 });
    expect(normal.every((r) => !r.label)).toBe(true);
    expect(fraud.every((r) => r.label)).toBe(true);
    const energy = (rs: TransactionRecord[]) =>
      rs.reduce((s, r) => s + transactionFeatures.slice(0, 28).reduce((t, f) => t + (r[f] as number) ** 2, 0), 0) / rs.length;
    expect(energy(fraud)).toBeGreaterThan(1.2 * energy(normal));
  });

  it('refuses fractions outside [0, 1]', () => {
    expect(() => new TransactionGenerator({ seed: 1, fraudFraction: 1.5 })).toThrow('fraudFraction must be within [0, 1], got 1.5');
    expect(() => new TransactionGenerator({ seed: 1, missingFraction: -0.1 })).toThrow('missingFraction must be within [0, 1], got -0.1');
  });
});
