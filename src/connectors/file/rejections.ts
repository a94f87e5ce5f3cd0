/**
 * What a connector does with a record it cannot take (bad JSON, wrong types, too large): say why
 * in the log and count it in `sluice_connector_rejected_total{reason}`. A source that sends
 * thousands of bad records must not flood the log, so only the first few of each interval are
 * logged in full; the rest are summed up in one line when the interval ends.
 */
import { isSluiceError, type ErrorCode } from '../../core/errors.js';
import type { LogFields, Logger } from '../../core/log.js';
import type { MetricCounter, StreamletMetrics } from '../../core/metrics.js';

export const REJECTED_METRIC = 'sluice_connector_rejected_total';

/** The `reason` label of an error code: short, stable, low-cardinality. */
const reasonOfCode: Partial<Record<ErrorCode, string>> = {
  SLUICE_ERR_RECORD_UNDECODABLE: 'undecodable',
  SLUICE_ERR_RECORD_INVALID: 'invalid',
  SLUICE_ERR_RECORD_TOO_LARGE: 'oversized',
  SLUICE_ERR_REQUEST_TOO_LARGE: 'oversized',
  SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE: 'content-type',
  SLUICE_ERR_RECORD_REFUSED: 'refused',
};

export function rejectionReason(err: unknown): string {
  return (isSluiceError(err) && reasonOfCode[err.code]) || 'unreadable';
}

export interface RejectionOptions {
  /** Rejections logged in full per interval; the rest are only counted. */
  readonly logged?: number;
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export class Rejections {
  private readonly counter: MetricCounter;
  private readonly logged: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private windowStart = -Infinity;
  private loggedInWindow = 0;
  private suppressed = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    metrics: StreamletMetrics,
    options: RejectionOptions = {},
  ) {
    this.counter = metrics.counter(REJECTED_METRIC, 'Records a connector rejected (malformed, invalid, too large), per reason', ['reason']);
    this.logged = options.logged ?? 10;
    this.intervalMs = options.intervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Counts one rejected record (or `count` of them) and logs why, unless the log budget of this interval is spent. */
  report(err: unknown, fields: LogFields = {}, count = 1): void {
    const reason = rejectionReason(err);
    this.counter.inc({ reason }, count);
    const now = this.now();
    if (now - this.windowStart >= this.intervalMs) {
      this.flush();
      this.windowStart = now;
    }
    if (this.loggedInWindow < this.logged) {
      this.loggedInWindow += 1;
      this.log.warn('record rejected', {
        reason,
        error: err instanceof Error ? err.message : String(err),
        ...(count > 1 ? { records: count } : {}),
        ...fields,
      });
    } else {
      this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + count);
    }
  }

  /** Logs the sum of what was not logged in full; call it when the connector stops, too. */
  flush(): void {
    this.loggedInWindow = 0;
    if (this.suppressed.size === 0) return;
    const byReason = Object.fromEntries(this.suppressed);
    const total = [...this.suppressed.values()].reduce((a, b) => a + b, 0);
    this.suppressed = new Map();
    this.log.warn(`${total} more records rejected (not logged one by one)`, { byReason });
  }
}
