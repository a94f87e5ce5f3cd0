/**
 * PostgreSQL egress: writes each record of its inlet as a row of a table, one statement per
 * batch. With a key, rows are upserted on it, so a batch delivered again after a crash or a
 * lost connection changes nothing: effectively-once on the key. Without one, rows are inserted:
 * at-least-once. A batch is committed only after the database acknowledged it.
 */
import { config } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet } from '../../core/streamlet.js';
import { rejectionReporter } from '../rejections.js';
import { resolveSecret } from '../secret.js';
import { planColumns } from './columns.js';
import { TableWriter, type WriterSettings } from './writer.js';

export interface PostgresEgressOptions<T> {
  readonly schema: Schema<T>;
  /** Column names for fields whose column is named differently (field name → column name). */
  readonly columns?: Partial<Readonly<Record<keyof T & string, string>>>;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const tableName = /^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/;
const columnList = /^\s*([A-Za-z_][A-Za-z0-9_$]*(\s*,\s*[A-Za-z_][A-Za-z0-9_$]*)*)?\s*$/;

export function postgresEgress<T>(options: PostgresEgressOptions<T>) {
  const columnNames = (options.columns ?? {}) as Readonly<Record<string, string>>;
  for (const [field, column] of Object.entries(columnNames)) {
    if (!identifier.test(column)) throw new Error(`column mapping of field ${field}: ${JSON.stringify(column)} is not a column name`);
  }
  const plan = planColumns(options.schema as Schema, columnNames);
  return defineStreamlet({
    description: `Writes ${options.schema.name} records as rows of a PostgreSQL table (upserts on a key: effectively-once)`,
    inlets: { in: options.schema },
    config: {
      url: config.string({ description: 'PostgreSQL URL, postgres://user@host:port/database (or env:NAME, file:/path)' }),
      password: config.string({ description: 'Password, if not in the URL: env:NAME, file:/path or the value', default: '' }),
      table: config.string({ description: 'Table to write, `name` or `schema.name`, case-sensitive', pattern: tableName }),
      key: config.string({ description: 'Comma-separated key columns to upsert on; empty: plain inserts (at-least-once)', default: '', pattern: columnList }),
      'on-conflict': config.oneOf({
        description: 'When a row with the key exists: update it, or keep it (nothing)',
        values: ['update', 'nothing'],
        default: 'update',
      }),
      'create-table': config.boolean({ description: 'Create the table from the schema when it does not exist', default: false }),
      'batch-size': config.integer({ description: 'Most rows written by one statement', default: 1000, min: 1, max: 100_000 }),
      'connect-timeout': config.duration({ description: 'How long one connection attempt may take', default: 10_000, min: 1 }),
    },
    async run(ctx) {
      const key = ctx.config.key
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k.length > 0);
      const settings: WriterSettings = {
        ...connectionSettings(ctx.name, ctx.config.url, ctx.config.password, ctx.config['connect-timeout']),
        table: {
          table: ctx.config.table,
          key,
          onConflict: ctx.config['on-conflict'],
          createTable: ctx.config['create-table'],
          where: { table: `${ctx.name}.table`, key: `${ctx.name}.key` },
        },
      };
      const writer = new TableWriter(settings, plan, ctx.log, rejectionReporter(ctx), ctx.signal);
      try {
        await writer.start();
        for await (const batch of ctx.inlet('in').batches({ maxSize: ctx.config['batch-size'] })) {
          // Leaving the loop without asking for the next batch leaves this one uncommitted.
          if (!(await writer.write(batch as readonly Readonly<Record<string, unknown>>[]))) {
            ctx.log.warn('stopped before the database took the last batch; it is not committed', { records: batch.length });
            return;
          }
        }
      } finally {
        await writer.close();
      }
    },
  });
}

function connectionSettings(streamlet: string, url: string, password: string, connectTimeout: number): Omit<WriterSettings, 'table'> {
  const urlKey = `${streamlet}.url`;
  const resolved = resolveSecret(url, urlKey);
  let parsed: URL;
  try {
    parsed = new URL(resolved);
  } catch {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: urlKey, message: `not a URL: expected postgres://user@host:port/database` });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', {
      where: urlKey,
      message: `${parsed.protocol} is not a PostgreSQL URL: expected postgres://user@host:port/database`,
    });
  }
  const secret = resolveSecret(password, `${streamlet}.password`);
  const server = `${parsed.username || 'postgres'}@${parsed.host}${parsed.pathname}`;
  return {
    connection: {
      connectionString: resolved,
      ...(secret ? { password: secret } : {}),
      connectionTimeoutMillis: connectTimeout,
      keepAlive: true,
      application_name: `sluice ${streamlet}`,
    },
    server,
    urlKey,
  };
}
