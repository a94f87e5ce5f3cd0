/**
 * Typed config parameters of a streamlet. A parameter is declared as data (kind, description,
 * default, bounds) so a tool can list and validate config without running anything; values are
 * parsed once at start into a frozen object typed by the declaration.
 */
export type ConfigKind = 'string' | 'choice' | 'integer' | 'double' | 'boolean' | 'duration' | 'memory-size';

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
  if (options.default === undefined) return Object.freeze(declared);
  // A default that breaks its own declaration is a bug of the streamlet: fail where it is declared.
  try {
    parse(options.default);
  } catch (err) {
    throw new Error(`config parameter "${options.description}": default ${show(options.default)} ${(err as Error).message}`);
  }
  return Object.freeze({ ...declared, default: options.default });
}

function checkBounds(value: number, bounds: Bounds, unit = ''): number {
  if (bounds.min !== undefined && value < bounds.min) throw new Error(`must be at least ${bounds.min}${unit}, got ${value}${unit}`);
  if (bounds.max !== undefined && value > bounds.max) throw new Error(`must be at most ${bounds.max}${unit}, got ${value}${unit}`);
  return value;
}

/** Decimal notation only: `Number()` alone would also take `0x10` and `0b1`. */
const decimal = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function toNumber(raw: unknown, what: string): number {
  const value = typeof raw === 'string' && decimal.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`expected ${what}, got ${show(raw)}`);
  return value;
}

/** Every name HOCON gives a unit, mapped to its factor. */
function units(table: readonly [factor: number, names: string][]): Readonly<Record<string, number>> {
  return Object.freeze(Object.fromEntries(table.flatMap(([factor, names]) => names.split(' ').map((name) => [name, factor]))));
}

// Nanoseconds per unit, as HOCON names them: whole factors keep `5ns` exact.
const durationUnits = units([
  [1, 'ns nano nanos nanosecond nanoseconds'],
  [1e3, 'us µs micro micros microsecond microseconds'],
  [1e6, 'ms milli millis millisecond milliseconds'],
  [1e9, 's second seconds'],
  [60e9, 'm minute minutes'],
  [3600e9, 'h hour hours'],
  [86400e9, 'd day days'],
]);

// Bytes per unit, as HOCON names them: single letters and -i- forms are powers of two.
const memoryUnits = units([
  [1, 'B b byte bytes'],
  [1000, 'kB KB kilobyte kilobytes'],
  [1000 ** 2, 'MB megabyte megabytes'],
  [1000 ** 3, 'GB gigabyte gigabytes'],
  [1000 ** 4, 'TB terabyte terabytes'],
  [1024, 'K k Ki KiB kibibyte kibibytes'],
  [1024 ** 2, 'M m Mi MiB mebibyte mebibytes'],
  [1024 ** 3, 'G g Gi GiB gibibyte gibibytes'],
  [1024 ** 4, 'T t Ti TiB tebibyte tebibytes'],
]);

/** Parses a value with a unit suffix (`10s`, `512MiB`); a bare number uses `bare` as its unit. */
function withUnit(raw: unknown, table: Readonly<Record<string, number>>, bare: string, what: string): number {
  if (typeof raw === 'number') return toNumber(raw, what) * (table[bare] ?? 1);
  const match = typeof raw === 'string' ? /^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*$/.exec(raw) : null;
  const factor = match ? table[match[2] || bare] : undefined;
  if (!match || factor === undefined) throw new Error(`expected ${what}, got ${show(raw)}`);
  return Number(match[1]) * factor;
}

export const config = {
  string(options: Common<string> & { readonly pattern?: RegExp }): ConfigParameter<string> {
    // A g or y flag would make test() carry state from one call to the next.
    const pattern = options.pattern && new RegExp(options.pattern.source, options.pattern.flags.replace(/[gy]/g, ''));
    return parameter('string', options, (raw) => {
      if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') throw new Error(`expected a string, got ${show(raw)}`);
      const value = String(raw);
      if (pattern && !pattern.test(value)) throw new Error(`${show(value)} does not match ${options.pattern}`);
      return value;
    });
  },
  /** One of a fixed set of strings, typed as their union. */
  oneOf<const V extends string>(options: Common<V> & { readonly values: readonly V[] }): ConfigParameter<V> {
    return parameter('choice', options, (raw) => {
      const found = options.values.find((v) => v === raw);
      if (found === undefined) throw new Error(`expected one of ${options.values.join(', ')}, got ${show(raw)}`);
      return found;
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
    return parameter('duration', options, (raw) => checkBounds(withUnit(raw, durationUnits, 'ms', 'a duration such as 500ms or 10s') / 1e6, options, 'ms'));
  },
  /** A size in bytes; accepts HOCON forms such as `512KiB`, `64M`, `1GB`. */
  memorySize(options: Common<number> & Bounds): ConfigParameter<number> {
    return parameter('memory-size', options, (raw) => {
      const bytes = withUnit(raw, memoryUnits, 'B', 'a memory size such as 64MiB');
      if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`expected a whole, non-negative number of bytes, got ${show(raw)}`);
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
    if (!Object.hasOwn(parameters, key)) {
      const known = Object.keys(parameters);
      problems.push({ key, message: `is unknown (known: ${known.length > 0 ? known.join(', ') : 'none'})` });
    }
  }
  return { values: Object.freeze(values) as ConfigValues<P>, problems };
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || value === undefined) return value === undefined ? 'nothing' : String(value);
  return JSON.stringify(value) ?? String(value);
}
