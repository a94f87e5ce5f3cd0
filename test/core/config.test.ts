/**
 * Typed config parameters: what each kind accepts, the exact message for what it does not,
 * bounds, defaults, required parameters, unknown keys, and every problem reported at once.
 */
import { describe, expect, it } from 'vitest';
import { config, parseConfigValues, type ConfigParameter } from '../../src/core/config.js';

/** The message of the Error `parse(raw)` throws. */
function rejection<T>(parameter: ConfigParameter<T>, raw: unknown): string {
  try {
    parameter.parse(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return (err as Error).message;
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
}

describe('config.string', () => {
  const plain = config.string({ description: 'A name' });
  const label = config.string({ description: 'A label', pattern: /^[a-z][a-z0-9-]*$/ });

  it.each([
    ['model-a', 'model-a'],
    ['', ''],
    ['with spaces and ünïcode', 'with spaces and ünïcode'],
    // HOCON reads unquoted 42 and true as a number and a boolean: a string parameter takes them as text.
    [42, '42'],
    [1.5, '1.5'],
    [true, 'true'],
  ])('accepts %j as %j', (raw, value) => {
    expect(plain.parse(raw)).toBe(value);
  });

  it.each([
    [['a'], 'expected a string, got ["a"]'],
    [{ a: 1 }, 'expected a string, got {"a":1}'],
    [undefined, 'expected a string, got nothing'],
  ])('rejects %j', (raw, message) => {
    expect(rejection(plain, raw)).toBe(message);
  });

  it('checks the pattern and quotes both the value and the pattern', () => {
    expect(label.parse('data-ingress-2')).toBe('data-ingress-2');
    expect(rejection(label, 'Data')).toBe('"Data" does not match /^[a-z][a-z0-9-]*$/');
    expect(rejection(label, '')).toBe('"" does not match /^[a-z][a-z0-9-]*$/');
    // A number is checked as its text.
    expect(rejection(label, 7)).toBe('"7" does not match /^[a-z][a-z0-9-]*$/');
  });

  it('describes itself as data', () => {
    expect(label.kind).toBe('string');
    expect(label.description).toBe('A label');
    expect('default' in label).toBe(false);
    expect(config.string({ description: 'x', default: 'y' }).default).toBe('y');
    expect(Object.isFrozen(label)).toBe(true);
  });

  it('gives the same answer every time for a pattern declared with the g flag', () => {
    const global = config.string({ description: 'g', pattern: /^a+$/g });
    expect([global.parse('a'), global.parse('a'), global.parse('a')]).toEqual(['a', 'a', 'a']);
  });
});

describe('config.integer', () => {
  const count = config.integer({ description: 'A count' });
  const bounded = config.integer({ description: 'Replicas', min: 1, max: 10 });

  it.each([
    [7, 7],
    ['7', 7],
    [' 7 ', 7],
    [-3, -3],
    ['-3', -3],
    [0, 0],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ])('accepts %j as %j', (raw, value) => {
    expect(count.parse(raw)).toBe(value);
  });

  it.each([
    [1.5, 'expected an integer, got 1.5'],
    ['1.5', 'expected an integer, got "1.5"'],
    ['seven', 'expected an integer, got "seven"'],
    ['', 'expected an integer, got ""'],
    ['   ', 'expected an integer, got "   "'],
    [true, 'expected an integer, got true'],
    [[1], 'expected an integer, got [1]'],
    [2 ** 60, 'expected an integer, got 1152921504606847000'],
  ])('rejects %j', (raw, message) => {
    expect(rejection(count, raw)).toBe(message);
  });

  it('checks bounds, inclusive', () => {
    expect(bounded.parse(1)).toBe(1);
    expect(bounded.parse('10')).toBe(10);
    expect(rejection(bounded, 0)).toBe('must be at least 1, got 0');
    expect(rejection(bounded, '11')).toBe('must be at most 10, got 11');
    expect(rejection(bounded, -1)).toBe('must be at least 1, got -1');
  });

  it('rejects hexadecimal and binary text', () => {
    expect(rejection(count, '0x10')).toBe('expected an integer, got "0x10"');
  });
});

describe('config.double', () => {
  const ratio = config.double({ description: 'A ratio', min: 0, max: 1 });
  const any = config.double({ description: 'Any number' });

  it.each([
    [0.25, 0.25],
    ['0.25', 0.25],
    [1, 1],
    ['1', 1],
    [0, 0],
  ])('accepts %j as %j', (raw, value) => {
    expect(ratio.parse(raw)).toBe(value);
  });

  it.each([
    ['half', 'expected a number, got "half"'],
    ['', 'expected a number, got ""'],
    ['Infinity', 'expected a number, got "Infinity"'],
    [false, 'expected a number, got false'],
    [null, 'expected a number, got null'],
  ])('rejects %j', (raw, message) => {
    expect(rejection(any, raw)).toBe(message);
  });

  it('checks bounds', () => {
    expect(rejection(ratio, 1.5)).toBe('must be at most 1, got 1.5');
    expect(rejection(ratio, '-0.1')).toBe('must be at least 0, got -0.1');
  });
});

describe('config.boolean', () => {
  const flag = config.boolean({ description: 'A switch', default: false });

  it.each([
    [true, true],
    [false, false],
    ['true', true],
    ['false', false],
    ['yes', true],
    ['no', false],
    ['on', true],
    ['off', false],
  ])('accepts %j as %j', (raw, value) => {
    expect(flag.parse(raw)).toBe(value);
  });

  it.each([
    ['maybe', 'expected true or false, got "maybe"'],
    [1, 'expected true or false, got 1'],
    [0, 'expected true or false, got 0'],
    ['', 'expected true or false, got ""'],
  ])('rejects %j', (raw, message) => {
    expect(rejection(flag, raw)).toBe(message);
  });
});

describe('config.duration (milliseconds)', () => {
  const timeout = config.duration({ description: 'A timeout' });
  const bounded = config.duration({ description: 'An interval', min: 10, max: 60_000 });

  it.each([
    ['500ms', 500],
    ['500 ms', 500],
    ['10s', 10_000],
    [' 10s ', 10_000],
    ['1.5s', 1_500],
    ['10 seconds', 10_000],
    ['1 second', 1_000],
    ['2m', 120_000],
    ['2 minutes', 120_000],
    ['1h', 3_600_000],
    ['2 hours', 7_200_000],
    ['1d', 86_400_000],
    ['3 days', 259_200_000],
    ['250 milliseconds', 250],
    ['1500us', 1.5],
    // A bare number is milliseconds, as in HOCON.
    [250, 250],
    ['250', 250],
    [0, 0],
  ])('reads %j as %j ms', (raw, ms) => {
    expect(timeout.parse(raw)).toBe(ms);
  });

  const expected = (shown: string) => `expected a duration such as 500ms or 10s, got ${shown}`;
  it.each([
    ['soon', '"soon"'],
    ['10x', '"10x"'],
    ['10sec', '"10sec"'],
    ['10 S', '"10 S"'],
    ['ms', '"ms"'],
    ['', '""'],
    ['1e3', '"1e3"'],
    ['10s 5ms', '"10s 5ms"'],
    [true, 'true'],
    [[10], '[10]'],
    [{ s: 10 }, '{"s":10}'],
  ])('rejects %j', (raw, shown) => {
    expect(rejection(timeout, raw)).toBe(expected(shown));
  });

  it('checks bounds in milliseconds, whatever unit was written', () => {
    expect(bounded.parse('10ms')).toBe(10);
    expect(bounded.parse('1 minute')).toBe(60_000);
    expect(rejection(bounded, '5ms')).toBe('must be at least 10ms, got 5ms');
    expect(rejection(bounded, 5)).toBe('must be at least 10ms, got 5ms');
    expect(rejection(bounded, '2 minutes')).toBe('must be at most 60000ms, got 120000ms');
    expect(rejection(config.duration({ description: 'd', min: 0 }), '-1s')).toBe('must be at least 0ms, got -1000ms');
  });

  it('reads the HOCON unit millis', () => {
    expect(timeout.parse('500 millis')).toBe(500);
  });
});

describe('config.memorySize (bytes)', () => {
  const size = config.memorySize({ description: 'A buffer size' });
  const bounded = config.memorySize({ description: 'A cache', min: 1024, max: 1024 ** 2 });

  it.each([
    ['512KiB', 512 * 1024],
    ['512 KiB', 512 * 1024],
    ['512K', 512 * 1024],
    ['512k', 512 * 1024],
    ['512Ki', 512 * 1024],
    ['1kB', 1_000],
    ['1KB', 1_000],
    ['64M', 64 * 1024 ** 2],
    ['64m', 64 * 1024 ** 2],
    ['64MiB', 64 * 1024 ** 2],
    ['64MB', 64_000_000],
    ['1G', 1024 ** 3],
    ['1GiB', 1024 ** 3],
    ['1GB', 1_000_000_000],
    ['1.5K', 1_536],
    ['100B', 100],
    ['100 bytes', 100],
    ['1 byte', 1],
    // A bare number is bytes.
    [4096, 4096],
    ['4096', 4096],
    [0, 0],
  ])('reads %j as %j bytes', (raw, bytes) => {
    expect(size.parse(raw)).toBe(bytes);
  });

  it.each([
    ['big', 'expected a memory size such as 64MiB, got "big"'],
    ['10Q', 'expected a memory size such as 64MiB, got "10Q"'],
    ['', 'expected a memory size such as 64MiB, got ""'],
    [true, 'expected a memory size such as 64MiB, got true'],
    ['1.1K', 'expected a whole, non-negative number of bytes, got "1.1K"'],
    ['0.5', 'expected a whole, non-negative number of bytes, got "0.5"'],
    [1.5, 'expected a whole, non-negative number of bytes, got 1.5'],
  ])('rejects %j', (raw, message) => {
    expect(rejection(size, raw)).toBe(message);
  });

  it('checks bounds in bytes', () => {
    expect(bounded.parse('1K')).toBe(1024);
    expect(bounded.parse('1MiB')).toBe(1024 ** 2);
    expect(rejection(bounded, 512)).toBe('must be at least 1024 bytes, got 512 bytes');
    expect(rejection(bounded, '1kB')).toBe('must be at least 1024 bytes, got 1000 bytes');
    expect(rejection(bounded, '2MiB')).toBe('must be at most 1048576 bytes, got 2097152 bytes');
  });

  it('rejects a negative size even without a declared min', () => {
    expect(() => size.parse('-1')).toThrow();
    expect(() => size.parse(-1024)).toThrow();
  });

  it('reads tebibytes', () => {
    expect(size.parse('1TiB')).toBe(1024 ** 4);
  });
});

describe('parseConfigValues', () => {
  const parameters = {
    'records-per-second': config.double({ description: 'Generation rate', default: 50, min: 0 }),
    seed: config.integer({ description: 'Seed of the generator', default: 42 }),
    name: config.string({ description: 'Name of the model', pattern: /^[a-z]+$/ }),
    interval: config.duration({ description: 'Time between updates', default: 5_000, min: 1 }),
    verbose: config.boolean({ description: 'Log every record', default: false }),
  };

  it('fills defaults, parses given values, and freezes the result', () => {
    const { values, problems } = parseConfigValues(parameters, { name: 'model', interval: '2s', seed: '7' });
    expect(problems).toEqual([]);
    expect(values).toEqual({ 'records-per-second': 50, seed: 7, name: 'model', interval: 2_000, verbose: false });
    expect(Object.isFrozen(values)).toBe(true);
  });

  it('a default of false or 0 is a default, not a missing value', () => {
    const { values, problems } = parseConfigValues(
      {
        on: config.boolean({ description: 'x', default: false }),
        n: config.integer({ description: 'y', default: 0 }),
        s: config.string({ description: 'z', default: '' }),
      },
      {},
    );
    expect(problems).toEqual([]);
    expect(values).toEqual({ on: false, n: 0, s: '' });
  });

  it('a parameter without a default is required; its description says what it is', () => {
    expect(parseConfigValues(parameters, {}).problems).toEqual([{ key: 'name', message: 'is required (Name of the model)' }]);
    // null (HOCON's null) is not a value either.
    expect(parseConfigValues(parameters, { name: null }).problems).toEqual([{ key: 'name', message: 'is required (Name of the model)' }]);
  });

  it('null falls back to the default', () => {
    expect(parseConfigValues(parameters, { name: 'x', seed: null }).values.seed).toBe(42);
  });

  it('unknown keys are problems that list the known ones', () => {
    expect(parseConfigValues(parameters, { name: 'x', sed: 7 }).problems).toEqual([
      { key: 'sed', message: 'is unknown (known: records-per-second, seed, name, interval, verbose)' },
    ]);
    expect(parseConfigValues({}, { anything: 1 }).problems).toEqual([{ key: 'anything', message: 'is unknown (known: none)' }]);
  });

  it('reports every problem at once: declared parameters in order, then unknown keys', () => {
    const { values, problems } = parseConfigValues(parameters, {
      'records-per-second': 'fast',
      seed: 1.5,
      interval: '0ms',
      verbose: 'maybe',
      colour: 'red',
      size: 3,
    });
    expect(problems).toEqual([
      { key: 'records-per-second', message: 'expected a number, got "fast"' },
      { key: 'seed', message: 'expected an integer, got 1.5' },
      { key: 'name', message: 'is required (Name of the model)' },
      { key: 'interval', message: 'must be at least 1ms, got 0ms' },
      { key: 'verbose', message: 'expected true or false, got "maybe"' },
      { key: 'colour', message: 'is unknown (known: records-per-second, seed, name, interval, verbose)' },
      { key: 'size', message: 'is unknown (known: records-per-second, seed, name, interval, verbose)' },
    ]);
    expect(values).toEqual({});
  });

  it('a key named like an Object.prototype member is still unknown', () => {
    expect(parseConfigValues(parameters, { name: 'x', toString: 'y' }).problems.map((p) => p.key)).toEqual(['toString']);
  });
});

describe('config.oneOf', () => {
  const format = config.oneOf({ description: 'Wire format', values: ['json', 'avro'], default: 'json' });

  it('takes one of its values and names them all when given another', () => {
    expect(format.parse('avro')).toBe('avro');
    expect(() => format.parse('xml')).toThrow('expected one of json, avro, got "xml"');
    expect(() => format.parse(1)).toThrow('expected one of json, avro, got 1');
  });
});
