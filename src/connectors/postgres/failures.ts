/**
 * What a failed statement means for the rows it carried, from its SQLSTATE: the connection is
 * gone or the server is busy (retry the batch later, commit nothing), one of the rows is wrong
 * (find it, report it, write the rest), or the setup is wrong (fail the streamlet, naming why).
 */
import pg from 'pg';

export type FailureKind = 'connection' | 'row' | 'setup';

/**
 * - connection: a socket error (ECONNRESET, ...), a connection that ended or timed out, class 08 (connection exception),
 *   57P01–57P03 (server shutting down or starting), class 53 (out of resources), 40001/40P01
 *   (serialization failure, deadlock: the statement may simply be run again);
 * - row: class 22 (data exception: a value out of range, bad text), class 23 (integrity: not
 *   null, foreign key, check, unique other than the key), P0001 (a trigger raised an exception);
 * - setup: anything else (a dropped column, no privilege, ...).
 */
export function failureKind(err: unknown): FailureKind {
  if (!(err instanceof pg.DatabaseError) || err.code === undefined) return isConnectionError(err) ? 'connection' : 'setup';
  const code = err.code;
  if (code.startsWith('08') || code.startsWith('53') || /^57P0[123]$/.test(code) || code === '40001' || code === '40P01') return 'connection';
  if (code.startsWith('22') || code.startsWith('23') || code === 'P0001') return 'row';
  return 'setup';
}

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Node's socket errors carry a code (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ...); pg's own say so in words.
  if (typeof (err as NodeJS.ErrnoException).code === 'string') return true;
  return /connection terminated|not queryable|timeout|connection ended|closed/i.test(err.message);
}

/** Connecting failed for a reason that waiting will not fix: credentials or database name. */
export function isPermanentConnectFailure(err: unknown): err is pg.DatabaseError {
  // 28000 invalid authorization (unknown role, no pg_hba entry), 28P01 wrong password, 3D000 unknown database.
  return err instanceof pg.DatabaseError && (err.code === '28000' || err.code === '28P01' || err.code === '3D000');
}

/** The server's message with its detail (which names the offending key or value). */
export function describeDatabaseError(err: unknown): string {
  if (!(err instanceof pg.DatabaseError)) return err instanceof Error ? err.message : String(err);
  return [err.message, err.detail, err.code && `SQLSTATE ${err.code}`].filter(Boolean).join('; ');
}
