/**
 * Writes batches of records to one table over one connection. A batch is one statement (one
 * array per column, unnested into rows), so it is written entirely or not at all. When the
 * database refuses the batch because of a row, the batch is written row by row and each refused
 * row is reported and skipped; when the connection is lost, the batch is written again once it
 * is back, and nothing is committed until it was.
 */
import pg from 'pg';
import { SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { Backoff, pause } from '../../util/backoff.js';
import { defaultConnectBackoff, untilConnected } from '../connect.js';
import { stringifyJson } from '../json.js';
import type { Rejections } from '../rejections.js';
import type { ColumnPlan } from './columns.js';
import { describeDatabaseError, failureKind, isPermanentConnectFailure } from './failures.js';
import { openTable, type TableSettings, type TargetTable } from './table.js';

export interface WriterSettings {
  readonly connection: pg.ClientConfig;
  /** The server without credentials, for logs and messages. */
  readonly server: string;
  /** Config key of the URL, for messages. */
  readonly urlKey: string;
  readonly table: TableSettings;
}

interface Session {
  readonly client: pg.Client;
  readonly table: TargetTable;
  lost?: Error;
}

type Opened = Session | { readonly fatal: Error };

const STATEMENT = 'sluice-postgres-egress';

export class TableWriter {
  private session: Session | undefined;

  constructor(
    private readonly settings: WriterSettings,
    private readonly plan: readonly ColumnPlan[],
    private readonly log: Logger,
    private readonly rejections: Rejections,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * Resolves true once every record of `records` is in the table or was refused and reported;
   * false when the streamlet stopped first (then nothing of the batch may be committed).
   */
  async write(records: readonly Readonly<Record<string, unknown>>[]): Promise<boolean> {
    const backoff = new Backoff(defaultConnectBackoff);
    let rowByRow = false;
    let next = 0;
    for (;;) {
      const session = await this.connected();
      if (!session) return false;
      const rows = this.distinctByKey(session.table, records);
      try {
        if (!rowByRow) {
          await this.insert(session, rows);
          return true;
        }
        for (; next < rows.length; next++) await this.insertOrReport(session, rows[next]!);
        return true;
      } catch (err) {
        const kind = failureKind(err);
        if (kind === 'row' && !rowByRow) {
          rowByRow = true;
          continue;
        }
        if (kind !== 'connection') {
          const message = `cannot write to table ${session.table.name}: ${describeDatabaseError(err)}`;
          throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: this.settings.table.where.table, message }, { cause: err });
        }
        this.disconnect();
        const delay = backoff.next();
        this.log.warn(`writing to PostgreSQL ${this.settings.server} failed; the batch is written again once it is back`, {
          error: describeDatabaseError(err),
          records: records.length,
          retryInMs: Math.round(delay),
        });
        await pause(delay, this.signal);
      }
    }
  }

  /** Connects and checks the table before the first batch, so a wrong configuration fails at start. */
  async start(): Promise<void> {
    await this.connected();
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.client.end().catch(() => undefined);
  }

  private async insert(session: Session, rows: readonly Readonly<Record<string, unknown>>[]): Promise<void> {
    if (session.lost) throw session.lost;
    const values = session.table.columns.map((c) => rows.map((row) => c.toParameter(row[c.field])));
    await session.client.query({ name: STATEMENT, text: session.table.insertSql, values });
  }

  private async insertOrReport(session: Session, row: Readonly<Record<string, unknown>>): Promise<void> {
    try {
      await this.insert(session, [row]);
    } catch (err) {
      if (failureKind(err) !== 'row') throw err;
      const refused = new SluiceError(
        'SLUICE_ERR_RECORD_REFUSED',
        { target: `table ${session.table.name}`, message: describeDatabaseError(err) },
        { cause: err },
      );
      this.rejections.reject('refused', refused, { record: preview(row) });
    }
  }

  /**
   * One statement cannot upsert the same key twice (PostgreSQL refuses it), so a batch keeps one
   * record per key: the last one when it updates, the first when conflicts do nothing, as if
   * the records were written one after the other.
   */
  private distinctByKey(table: TargetTable, records: readonly Readonly<Record<string, unknown>>[]): readonly Readonly<Record<string, unknown>>[] {
    if (table.keyPositions.length === 0 || records.length < 2) return records;
    const keyFields = table.keyPositions.map((p) => table.columns[p]!.field);
    const byKey = new Map<string, Readonly<Record<string, unknown>>>();
    const keepLast = this.settings.table.onConflict === 'update';
    for (const record of records) {
      const key = keyFields.length === 1 ? keyText(record[keyFields[0]!]) : keyFields.map((f) => keyText(record[f])).join('\u0000');
      if (keepLast) byKey.delete(key);
      if (keepLast || !byKey.has(key)) byKey.set(key, record);
    }
    return byKey.size === records.length ? records : [...byKey.values()];
  }

  private async connected(): Promise<Session | undefined> {
    if (this.session && !this.session.lost) return this.session;
    this.disconnect();
    const opened = await untilConnected(() => this.open(), { what: `PostgreSQL ${this.settings.server}`, log: this.log, signal: this.signal });
    if (opened && 'fatal' in opened) throw opened.fatal;
    this.session = opened;
    return opened;
  }

  private async open(): Promise<Opened> {
    const client = new pg.Client(this.settings.connection);
    const session: { client: pg.Client; lost?: Error } = { client };
    // Without a listener, an error on an idle connection would crash the process.
    client.on('error', (err) => {
      if (!session.lost) this.log.warn(`lost the connection to PostgreSQL ${this.settings.server}`, { error: err.message });
      session.lost = err;
    });
    try {
      await client.connect();
      const table = await openTable(client, this.plan, this.settings.table);
      return Object.assign(session, { table });
    } catch (err) {
      await client.end().catch(() => undefined);
      if (err instanceof SluiceError) return { fatal: err };
      if (isPermanentConnectFailure(err)) {
        const message = `cannot connect to PostgreSQL ${this.settings.server}: ${err.message}`;
        return { fatal: new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: this.settings.urlKey, message }, { cause: err }) };
      }
      throw err;
    }
  }

  private disconnect(): void {
    const session = this.session;
    this.session = undefined;
    void session?.client.end().catch(() => undefined);
  }
}

/** Key values of one column share a type, so their text tells them apart. */
function keyText(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function preview(row: unknown): string {
  const text = stringifyJson(row);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
