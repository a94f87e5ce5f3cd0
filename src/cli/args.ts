import type { LogLevel } from '../core/log.js';

/**
 * A small, strict argument parser: declared flags only, `--flag value` or `--flag=value`,
 * repeatable flags collected in order; anything else starting with `-` is a usage error.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface FlagSpec {
  readonly takesValue: boolean;
  readonly repeatable?: boolean;
}

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: ReadonlyMap<string, string[]>;
}

export function parseArgs(argv: readonly string[], spec: Readonly<Record<string, FlagSpec>>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const flag = spec[name];
    if (!flag) throw new UsageError(`unknown option ${name}`);
    let value = 'true';
    if (flag.takesValue) {
      const next = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      // `--conf --verbose` forgot the value; a value that really starts with `--` is given as `--conf=--odd`.
      if (next === undefined || next === '' || (eq < 0 && next.startsWith('--'))) throw new UsageError(`option ${name} needs a value`);
      value = next;
    } else if (eq > 0) {
      throw new UsageError(`option ${name} takes no value`);
    }
    const values = flags.get(name) ?? [];
    if (values.length > 0 && !flag.repeatable) throw new UsageError(`option ${name} given twice`);
    values.push(value);
    flags.set(name, values);
  }
  return { positionals, flags };
}

/** `1 streamlet`, `4 streamlets`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** The logging flags every long-running command takes. */
export const logFlags = {
  '--quiet': { takesValue: false },
  '--verbose': { takesValue: false },
  '--log-format': { takesValue: true },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export interface LogChoice {
  readonly format: 'pretty' | 'json';
  /** `--quiet` gives `warn`, `--verbose` `debug`; neither: undefined, the command's own default. */
  readonly level: LogLevel | undefined;
}

/** What the logging flags ask for; the format defaults to pretty on a terminal, JSON lines otherwise. */
export function logChoice(args: ParsedArgs): LogChoice {
  const format = args.flags.get('--log-format')?.[0] ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty' && format !== 'json') throw new UsageError(`--log-format must be pretty or json, got ${JSON.stringify(format)}`);
  const quiet = args.flags.has('--quiet');
  const verbose = args.flags.has('--verbose');
  if (quiet && verbose) throw new UsageError('--quiet and --verbose exclude each other');
  return { format, level: quiet ? 'warn' : verbose ? 'debug' : undefined };
}
