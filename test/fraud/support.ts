import type { DetectionTally } from '../../examples/fraud/console-egress.js';

/** The precision/recall line the fraud run prints: `summary` as it goes, `final` at the end. */
export const summaryLine =
  /^(summary|final) records=(\d+) scored=(\d+) errors=(\d+) flagged=(\d+) tp=(\d+) fp=(\d+) fn=(\d+) precision=(\d\.\d{3}|n\/a) recall=(\d\.\d{3}|n\/a)$/;

/** Precision and recall as a line reports them. */
export function parseSummary(line: string): { kind: string; records: number; errors: number; precision: number; recall: number } | undefined {
  const m = summaryLine.exec(line);
  if (!m) return undefined;
  return { kind: m[1] as string, records: Number(m[2]), errors: Number(m[4]), precision: Number(m[9]), recall: Number(m[10]) };
}

export function describeTally(t: DetectionTally): string {
  return `precision ${t.precision?.toFixed(4)} recall ${t.recall?.toFixed(4)} (tp ${t.truePositives}, fp ${t.falsePositives}, fn ${t.falseNegatives}, errors ${t.errors})`;
}
