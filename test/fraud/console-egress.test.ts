import { describe, expect, it } from 'vitest';
import { consoleEgress, DetectionTally, formatResult, formatSummary } from '../../examples/fraud/console-egress.js';
import { transactionFeatures, type FraudResult, type FraudVerdict, type TransactionRecord } from '../../examples/fraud/schemas.js';
import { startStreamlet } from '../../src/testkit.js';
import { parseSummary, summaryLine } from './support.js';

function result(id: number, label: boolean, verdict: FraudVerdict, errors = ''): FraudResult {
  const inputRecord = { id, label } as TransactionRecord;
  for (const f of transactionFeatures) inputRecord[f] = f === 'amount' ? 12.5 : 0.1;
  return {
    inputRecord,
    score: verdict === 'error' ? null : verdict === 'fraud' ? 0.41234 : 0.02,
    threshold: 0.17,
    verdict,
    modelResultMetadata: { errors, modelName: 'fraud-autoencoder', source: 'ONNX embedded', startTime: 1, duration: 0.25 },
  };
}

// 3 true positives, 1 false positive, 2 false negatives, 4 true negatives, 2 errors.
const mix: FraudResult[] = [
  result(1, true, 'fraud'),
  result(2, true, 'fraud'),
  result(3, true, 'fraud'),
  result(4, false, 'fraud'),
  result(5, true, 'normal'),
  result(6, true, 'normal'),
  ...[7, 8, 9, 10].map((id) => result(id, false, 'normal')),
  result(11, true, 'error', 'cannot score the record: missing fields: v3'),
  result(12, false, 'error', 'No model server defined'),
];

describe('DetectionTally', () => {
  it('counts precision and recall against the labels, errors apart', () => {
    const tally = new DetectionTally();
    expect(tally.precision).toBeUndefined();
    expect(tally.recall).toBeUndefined();
    for (const r of mix) tally.add(r);
    expect({ records: tally.records, scored: tally.scored, errors: tally.errors, flagged: tally.flagged }).toEqual({
      records: 12,
      scored: 10,
      errors: 2,
      flagged: 4,
    });
    expect(tally.precision).toBe(3 / 4);
    expect(tally.recall).toBe(3 / 5);
  });
});

describe('console lines', () => {
  it('prints precision and recall as one line of key=value pairs', () => {
    const tally = new DetectionTally();
    expect(formatSummary('summary', tally)).toBe('summary records=0 scored=0 errors=0 flagged=0 tp=0 fp=0 fn=0 precision=n/a recall=n/a\n');
    for (const r of mix) tally.add(r);
    const line = formatSummary('final', tally);
    expect(line).toBe('final records=12 scored=10 errors=2 flagged=4 tp=3 fp=1 fn=2 precision=0.750 recall=0.600\n');
    expect(line.trimEnd()).toMatch(summaryLine);
    expect(parseSummary(line.trimEnd())).toEqual({ kind: 'final', records: 12, errors: 2, precision: 0.75, recall: 0.6 });
  });

  it('prints a line for a flagged transaction and for an error, none for a normal one', () => {
    expect(formatResult(result(4, false, 'fraud'))).toBe(
      'fraud id=4 score=0.4123 threshold=0.17 amount=12.50 label=normal model=fraud-autoencoder type=ONNX 0.250ms\n',
    );
    expect(formatResult(result(11, true, 'error', 'cannot score the record: missing fields: v3'))).toBe(
      'error id=11 error="cannot score the record: missing fields: v3"\n',
    );
    expect(formatResult(result(7, false, 'normal'))).toBeUndefined();
  });
});

describe('the console egress', () => {
  it('prints flagged and failed transactions, a summary every report-every results, and the final one when its input ends', async () => {
    let printed = '';
    const h = await startStreamlet(
      consoleEgress((text) => (printed += text)),
      { name: 'console', config: { 'report-every': 5 } },
    );
    await h.send('in', mix);
    await h.until(() => h.committed('in') === mix.length);
    await h.stop();
    expect(printed.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^fraud id=1 /),
      expect.stringMatching(/^fraud id=2 /),
      expect.stringMatching(/^fraud id=3 /),
      expect.stringMatching(/^fraud id=4 .* label=normal /),
      'summary records=5 scored=5 errors=0 flagged=4 tp=3 fp=1 fn=1 precision=0.750 recall=0.750',
      'summary records=10 scored=10 errors=0 flagged=4 tp=3 fp=1 fn=2 precision=0.750 recall=0.600',
      'error id=11 error="cannot score the record: missing fields: v3"',
      'error id=12 error="No model server defined"',
      'final records=12 scored=10 errors=2 flagged=4 tp=3 fp=1 fn=2 precision=0.750 recall=0.600',
    ]);
  });
});
