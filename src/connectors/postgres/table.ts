/**
 * The target table, checked once at start against the schema: every field needs a column, a
 * column no field writes must be nullable or have a default, an upsert key needs a unique index
 * on exactly its columns. Every problem is reported at once, naming the table and the column, so
 * a wrong mapping fails at start instead of refusing every row. With `create-table` a missing
 * table is created from the schema (key columns as its primary key).
 */
import pg from 'pg';
import { SluiceError } from '../../core/errors.js';
import type { ColumnPlan } from './columns.js';

export interface TableSettings {
  /** `table` or `schema.table`, each part used as written (quoted, so case-sensitive). */
  readonly table: string;
  /** Columns of the upsert key; empty for plain inserts. */
  readonly key: readonly string[];
  readonly onConflict: 'update' | 'nothing';
  readonly createTable: boolean;
  /** Config key names for messages, e.g. `alerts-egress.table`. */
  readonly where: { readonly table: string; readonly key: string };
}

export interface WritableColumn extends ColumnPlan {
  /** The column's type in the database, as `format_type` prints it. */
  readonly sqlType: string;
}

export interface TargetTable {
  readonly name: string;
  readonly columns: readonly WritableColumn[];
  /** Positions in `columns` of the key columns (empty: plain insert). */
  readonly keyPositions: readonly number[];
  /** One statement for any number of rows: one array parameter per column, unnested into rows. */
  readonly insertSql: string;
}

interface CatalogColumn {
  readonly name: string;
  readonly type: string;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
  readonly isArray: boolean;
}

export const quotedName = (table: string) => table.split('.').map(pg.escapeIdentifier).join('.');

export async function openTable(client: pg.ClientBase, plan: readonly ColumnPlan[], settings: TableSettings): Promise<TargetTable> {
  const name = quotedName(settings.table);
  const keyProblems = settings.key.filter((k) => !plan.some((c) => c.column === k));
  if (keyProblems.length > 0) {
    const message = `key column(s) ${keyProblems.join(', ')} are not written from the schema (columns: ${plan.map((c) => c.column).join(', ')})`;
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: settings.where.key, message });
  }
  let oid = await tableOid(client, name);
  if (oid === undefined && settings.createTable) {
    await createTable(client, name, plan, settings);
    oid = await tableOid(client, name);
  }
  if (oid === undefined) {
    const message = `table ${settings.table} does not exist (set create-table = true to create it from the schema)`;
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: settings.where.table, message });
  }
  const catalog = await catalogColumns(client, oid);
  const problems: string[] = [];
  const columns: WritableColumn[] = [];
  for (const planned of plan) {
    const found = findColumn(catalog, planned.column);
    if (!found) problems.push(`no column ${planned.column} for field ${planned.field}`);
    else if (found.isArray) problems.push(`column ${found.name} is a PostgreSQL array (${found.type}): arrays are written as jsonb`);
    else columns.push({ ...planned, column: found.name, sqlType: found.type });
  }
  for (const column of catalog) {
    const written = columns.some((c) => c.column === column.name);
    if (!written && column.notNull && !column.hasDefault) problems.push(`column ${column.name} is NOT NULL without a default, and no field writes it`);
  }
  const key = settings.key.map((k) => findColumn(catalog, k)?.name ?? k);
  if (key.length > 0 && !(await hasUniqueIndex(client, oid, key))) {
    problems.push(`no primary key or unique index on exactly (${key.join(', ')}), which an upsert on that key needs`);
  }
  if (problems.length > 0) {
    const message = `table ${settings.table} does not fit the schema: ${problems.join('; ')} (table columns: ${catalog.map((c) => `${c.name} ${c.type}`).join(', ')})`;
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: settings.where.table, message });
  }
  const keyPositions = key.map((k) => columns.findIndex((c) => c.column === k));
  return { name: settings.table, columns, keyPositions, insertSql: insertStatement(name, columns, key, settings.onConflict) };
}

/** Exact name first; else the one column whose name differs only in case (unquoted SQL folds to lower case). */
function findColumn(catalog: readonly CatalogColumn[], name: string): CatalogColumn | undefined {
  const exact = catalog.find((c) => c.name === name);
  if (exact) return exact;
  const folded = catalog.filter((c) => c.name.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

async function tableOid(client: pg.ClientBase, name: string): Promise<number | undefined> {
  const result = await client.query<{ oid: number | null }>('select to_regclass($1)::oid as oid', [name]);
  return result.rows[0]?.oid ?? undefined;
}

async function createTable(client: pg.ClientBase, name: string, plan: readonly ColumnPlan[], settings: TableSettings): Promise<void> {
  const columns = plan.map((c) => `${pg.escapeIdentifier(c.column)} ${c.type}${c.nullable ? '' : ' not null'}`);
  if (settings.key.length > 0) columns.push(`primary key (${settings.key.map(pg.escapeIdentifier).join(', ')})`);
  try {
    await client.query(`create table if not exists ${name} (${columns.join(', ')})`);
  } catch (err) {
    // Anything but a lost connection (e.g. a schema that does not exist, no permission) is the configuration's fault.
    if (!(err instanceof pg.DatabaseError) || err.code?.startsWith('08')) throw err;
    throw new SluiceError(
      'SLUICE_ERR_CONFIG_INVALID',
      { where: settings.where.table, message: `cannot create table ${settings.table}: ${err.message}` },
      { cause: err },
    );
  }
}

async function catalogColumns(client: pg.ClientBase, oid: number): Promise<CatalogColumn[]> {
  const result = await client.query<CatalogColumn>(
    `select a.attname as "name", format_type(a.atttypid, a.atttypmod) as "type", a.attnotnull as "notNull",
            a.atthasdef or a.attidentity <> '' or a.attgenerated <> '' as "hasDefault", t.typcategory = 'A' as "isArray"
       from pg_attribute a join pg_type t on t.oid = a.atttypid
      where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [oid],
  );
  return result.rows;
}

async function hasUniqueIndex(client: pg.ClientBase, oid: number, key: readonly string[]): Promise<boolean> {
  // Partial and expression indexes cannot serve a plain ON CONFLICT (columns).
  const result = await client.query<{ columns: string[] }>(
    `select array(select a.attname from unnest(i.indkey) k join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k)::text[] as "columns"
       from pg_index i
      where i.indrelid = $1 and i.indisunique and i.indpred is null and i.indexprs is null`,
    [oid],
  );
  const wanted = [...key].sort().join('\u0000');
  return result.rows.some((r) => [...r.columns].sort().join('\u0000') === wanted);
}

function insertStatement(name: string, columns: readonly WritableColumn[], key: readonly string[], onConflict: 'update' | 'nothing'): string {
  const names = columns.map((c) => pg.escapeIdentifier(c.column));
  const arrays = columns.map((c, i) => `$${i + 1}::${c.sqlType}[]`);
  const insert = `insert into ${name} (${names.join(', ')}) select * from unnest(${arrays.join(', ')})`;
  if (key.length === 0) return insert;
  const target = key.map(pg.escapeIdentifier).join(', ');
  const updated = names.filter((_, i) => !key.includes(columns[i]!.column));
  if (onConflict === 'nothing' || updated.length === 0) return `${insert} on conflict (${target}) do nothing`;
  return `${insert} on conflict (${target}) do update set ${updated.map((n) => `${n} = excluded.${n}`).join(', ')}`;
}
