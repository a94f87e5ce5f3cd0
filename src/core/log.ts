/**
 * Structured logging on pino: one JSON object per line on stderr (stdout belongs to egresses
 * such as the console), or a compact line for people when `pretty`. Loggers are values passed
 * down, never a process-wide singleton; Sluice code logs `message` first, then its fields.
 */
import { pino, stdTimeFunctions, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly pretty?: boolean;
  /** Where lines go; stderr by default. */
  readonly write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const destination = { write: options.pretty ? (line: string) => write(prettyLine(line)) : write };
  return wrap(
    pino(
      {
        level: options.level ?? 'info',
        base: undefined,
        messageKey: 'msg',
        timestamp: stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        serializers: { error: pino.stdSerializers.err },
      },
      destination,
    ),
  );
}

function wrap(logger: PinoLogger): Logger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    child: (bindings) => wrap(logger.child(bindings)),
  };
}

/** `12:00:01.234 INFO  [streamlet] message {fields}` from one JSON line. */
function prettyLine(json: string): string {
  const { time, level, msg, streamlet, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const who = typeof streamlet === 'string' ? ` [${streamlet}]` : '';
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `${String(time).slice(11, 23)} ${String(level).toUpperCase().padEnd(5)}${who} ${String(msg)}${extra}\n`;
}
