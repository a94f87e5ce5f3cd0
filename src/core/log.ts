/**
 * Structured logging: one JSON object per line on stderr (stdout belongs to egresses such as
 * the console), or a compact human form when `pretty`. Loggers are values passed down, never a
 * process-wide singleton.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly pretty?: boolean;
  readonly write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, bindings: LogFields = {}): Logger {
  const threshold = rank[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (rank[level] < threshold) return;
    const entry = { time: new Date().toISOString(), level, ...bindings, msg: message, ...fields };
    write(options.pretty ? `${prettyLine(entry)}\n` : `${JSON.stringify(entry, jsonReplacer)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (more) => createLogger(options, { ...bindings, ...more }),
  };
}

function prettyLine(entry: Record<string, unknown>): string {
  const { time, level, msg, streamlet, ...rest } = entry;
  const who = typeof streamlet === 'string' ? ` [${streamlet}]` : '';
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest, jsonReplacer)}` : '';
  return `${String(time).slice(11, 23)} ${String(level).toUpperCase().padEnd(5)}${who} ${String(msg)}${extra}`;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
