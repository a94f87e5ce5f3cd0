/**
 * What a connector does with each message: decode it within a size limit, or reject it. A
 * rejected message is logged with why, at most a few lines per interval (then how many were not
 * logged), and counted by reason in `sluice_connector_rejected_total`, so a flood of bad input
 * neither floods the log nor goes unseen. Shared by every connector here.
 */
import { isSluiceError, messageOf, SluiceError } from '../core/errors.js';
import type { LogFields, Logger } from '../core/log.js';
import type { MetricCounter, StreamletMetrics } from '../core/metrics.js';
import type { PayloadCodec } from './payload.js';

/**
 * `undecodable`: not JSON / not Avro; `invalid`: does not match the schema; `too_large`: over the
 * size limit; `unsupported_type`: a content type the connector does not read (HTTP); `refused`:
 * the target system refused it (e.g. a database constraint); `overflow`: dropped because the
 * connector's buffer was full (core NATS only).
 */
export type RejectionReason = 'undecodable' | 'invalid' | 'too_large' | 'unsupported_type' | 'refused' | 'overflow';

export interface Rejections {
  /** Logs (rate-limited) and counts one rejected message, or `count` rejected for the same error. */
  reject(reason: RejectionReason, error: unknown, fields?: LogFields, count?: number): void;
}

export interface RejectionOptions {
  /** Lines logged per interval before the rest are only counted. */
  readonly linesPerInterval?: number;
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export const REJECTED_METRIC = 'sluice_connector_rejected_total';

export function rejectionReporter(ctx: { readonly log: Logger; readonly metrics: StreamletMetrics }, options: RejectionOptions = {}): Rejections {
  const { linesPerInterval = 10, intervalMs = 10_000, now = Date.now } = options;
  const counter: MetricCounter = ctx.metrics.counter(REJECTED_METRIC, 'Messages a connector rejected or could not deliver, by reason', ['reason']);
  let windowStart = Number.NEGATIVE_INFINITY;
  let logged = 0;
  let unlogged = 0;
  return {
    reject(reason, error, fields = {}, count = 1) {
      counter.inc({ reason }, count);
      const time = now();
      if (time - windowStart >= intervalMs) {
        windowStart = time;
        logged = 0;
      }
      if (logged >= linesPerInterval) {
        unlogged += count;
        return;
      }
      logged += 1;
      const extra = unlogged > 0 ? { notLogged: unlogged } : {};
      unlogged = 0;
      ctx.log.warn(`rejected a message: ${messageOf(error)}`, {
        reason,
        error: messageOf(error),
        ...fields,
        ...(count > 1 ? { records: count } : {}),
        ...extra,
      });
    },
  };
}

/** The reason for a record (or request) that failed to decode, validate or be taken. */
export function rejectionReason(error: unknown): RejectionReason {
  if (isSluiceError(error, 'SLUICE_ERR_RECORD_UNDECODABLE')) return 'undecodable';
  if (isSluiceError(error, 'SLUICE_ERR_RECORD_TOO_LARGE') || isSluiceError(error, 'SLUICE_ERR_REQUEST_TOO_LARGE')) return 'too_large';
  if (isSluiceError(error, 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE')) return 'unsupported_type';
  if (isSluiceError(error, 'SLUICE_ERR_RECORD_REFUSED')) return 'refused';
  return 'invalid';
}

/** Decodes one message's payload; over `limit` bytes it is SLUICE_ERR_RECORD_TOO_LARGE without being read. */
export function decodePayload<T>(codec: PayloadCodec<T>, payload: Uint8Array, limit: number, where: string): T {
  if (payload.length > limit) throw new SluiceError('SLUICE_ERR_RECORD_TOO_LARGE', { where, size: payload.length, limit });
  return codec.decode(Buffer.from(payload.buffer, payload.byteOffset, payload.length), where);
}
