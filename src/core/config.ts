/**
 * Typed config parameters of a streamlet. A parameter is declared as data (kind, description,
 * default, bounds) so a tool can list and validate config without running anything; values are
 * parsed once at start into a frozen object typed by the declaration.
 */
export type ConfigKind = 'string' | 'integer' | 'double' | 'boolean' | 'duration' | 'memory-size';

export interface ConfigParameter<T> {
  readonly kind: ConfigKind;
  readonly description: string;
  readonly default?: T;
  /** Returns the typed value, or throws an Error whose message says what is wrong. */
  parse(raw: unknown): T;
}

type ValueOf<P> = P extends ConfigParameter<infer T> ? T : never;
export type ConfigParameters = Readonly<Record<string, ConfigParameter<unknown>>>;
export type ConfigValues<P extends ConfigParameters> = { readonly [K in keyof P]: ValueOf<P[K]> };

interface Common<T> {
  readonly description: string;
  readonly default?: T;
}

interface Bounds {
  readonly min?: number;
  readonly max?: number;
}

function parameter<T>(kind: ConfigKind, options: Common<T>, parse: (raw: unknown) => T): ConfigParameter<T> {
  const declared: ConfigParameter<T> = { kind, description: options.description, parse };
  return Object.freeze(options.default === undefined ? declared : { ...declared, default: options.default });
}

function checkBounds(value: number, bounds: Bounds, unit = ''): number {
  if (bounds.min !== undefined && value < bounds.min) throw new Error(`must be at least ${bounds.min}${unit}, got ${value}${unit}`);
  if (bounds.max !== undefined && value > bounds.max) throw new Error(`must be at most ${bounds.max}${unit}, got ${value}${unit}`);
  return value;
}

function toNumber(raw: unknown, what: string): number {
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`expected ${what}, got ${show(raw)}`);
  return value;
}

const durationUnits: Record<string, number> = {
  ns: 1e-6, nanosecond: 1e-6, nanoseconds: 1e-6,
  us: 1e-3, µs: 1e-3, microsecond: 1e-3, microseconds: 1e-3,
  ms: 1, millisecond: 1, milliseconds: 1,
  s: 1000, second: 1000, seconds: 1000,
  m: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
};

const memoryUnits: Record<string, number> = {
  '': 1, B: 1, byte: 1, bytes: 1,
  K: 1024, k: 1024, KiB: 1024, Ki: 1024, kB: 1000, KB: 1000,
  M: 1024 ** 2, m: 1024 ** 2, MiB: 1024 ** 2, Mi: 1024 ** 2, MB: 1000 ** 2,
  G: 1024 ** 3, g: 1024 ** 3, GiB: 1024 ** 3, Gi: 1024 ** 3, GB: 1000 ** 3,
};

/** Parses a value with a unit suffix (`10s`, `512MiB`); a bare number uses `bare` as its unit. */
function withUnit(raw: unknown, units: Record<string, number>, bare: string, what: string): number {
  if (typeof raw === 'number') return toNumber(raw, what) * (units[bare] ?? 1);
  const match = typeof raw === 'string' ? /^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*$/.exec(raw) : null;
  const factor = match ? units[match[2] || bare] : undefined;
  if (!match || factor === undefined) throw new Error(`expected ${what}, got ${show(raw)}`);
  return Number(match[1]) * factor;
}

export const config = {
  string(options: Common<string> & { readonly pattern?: RegExp }): ConfigParameter<string> {
    return parameter('string', options, (raw) => {
      if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') throw new Error(`expected a string, got ${show(raw)}`);
      const value = String(raw);
      if (options.pattern && !options.pattern.test(value)) throw new Error(`${show(value)} does not match ${options.pattern}`);
      return value;
    });
  },
  integer(options: Common<number> & Bounds): ConfigParameter<number> {
    return parameter('integer', options, (raw) => {
      const value = toNumber(raw, 'an integer');
      if (!Number.isSafeInteger(value)) throw new Error(`expected an integer, got ${show(raw)}`);
      return checkBounds(value, options);
    });
  },
  double(options: Common<number> & Bounds): ConfigParameter<number> {
    return parameter('double', options, (raw) => checkBounds(toNumber(raw, 'a number'), options));
  },
  boolean(options: Common<boolean>): ConfigParameter<boolean> {
    return parameter('boolean', options, (raw) => {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'on' || raw === 'yes') return true;
      if (raw === 'false' || raw === 'off' || raw === 'no') return false;
      throw new Error(`expected true or false, got ${show(raw)}`);
    });
  },
  /** A duration in milliseconds; accepts HOCON forms such as `250ms`, `10s`, `2 minutes`. */
  duration(options: Common<number> & Bounds): ConfigParameter<number> {
    return parameter('duration', options, (raw) => checkBounds(withUnit(raw, durationUnits, 'ms', 'a duration such as 500ms or 10s'), options, 'ms'));
  },
  /** A size in bytes; accepts HOCON forms such as `512KiB`, `64M`, `1GB`. */
  memorySize(options: Common<number> & Bounds): ConfigParameter<number> {
    return parameter('memory-size', options, (raw) => {
      const bytes = withUnit(raw, memoryUnits, '', 'a memory size such as 64MiB');
      if (!Number.isSafeInteger(bytes)) throw new Error(`expected a whole number of bytes, got ${show(raw)}`);
      return checkBounds(bytes, options, ' bytes');
    });
  },
};

export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
}

/**
 * Parses raw values against declared parameters: defaults fill gaps, unknown keys are problems
 * (they are usually typos), and every problem is reported, not just the first.
 */
export function parseConfigValues<P extends ConfigParameters>(
  parameters: P,
  raw: Readonly<Record<string, unknown>>,
): { values: ConfigValues<P>; problems: ConfigProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [key, declared] of Object.entries(parameters)) {
    const given = raw[key];
    if (given === undefined || given === null) {
      if (declared.default === undefined) problems.push({ key, message: `is required (${declared.description})` });
      else values[key] = declared.default;
      continue;
    }
    try {
      values[key] = declared.parse(given);
    } catch (err) {
      problems.push({ key, message: (err as Error).message });
    }
  }
  for (const key of Object.keys(raw)) {
    if (!(key in parameters)) {
      const known = Object.keys(parameters);
      problems.push({ key, message: `is not a config parameter of this streamlet (known: ${known.length > 0 ? known.join(', ') : 'none'})` });
    }
  }
  return { values: Object.freeze(values) as ConfigValues<P>, problems };
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
}
