/** Tables as the bench prints them (aligned text) and as docs/benchmarks.md shows them (markdown), from one description. */

export interface Table {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Lines under the table: what the columns mean. */
  readonly notes?: readonly string[];
}

/** Aligned columns: the first left-aligned, the others right-aligned. */
export function textTable(table: Table): string {
  const widths = table.header.map((h, i) => Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [table.title, line(table.header), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line), ...(table.notes ?? [])].join('\n');
}

export function markdownTable(table: Table): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  const line = (cells: readonly string[]) => `| ${cells.map(escape).join(' | ')} |`;
  const align = table.header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(table.header), line(align), ...table.rows.map(line)].join('\n');
}

/** Thousands separators, `digits` decimals; `–` for what was not measured. */
export function fmt(n: number | undefined, digits = 0): string {
  return n !== undefined && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–';
}

/** 1.23M, 45.6k, 789. */
export function si(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

/** A ratio as `0.236×`. */
export function ratio(r: number | undefined): string {
  return r !== undefined && Number.isFinite(r) ? `${r >= 10 ? r.toFixed(1) : r.toFixed(3)}×` : '–';
}

/** Milliseconds with about three significant digits. */
export function ms(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function percent(share: number | undefined): string {
  return share !== undefined && Number.isFinite(share) ? `${(share * 100).toFixed(0)}%` : '–';
}
