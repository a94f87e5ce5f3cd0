/**
 * Layered configuration: declared defaults < each --conf file in order < key=value overrides.
 * Problems name the file, line and column, the streamlet and the key.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyApplication } from '../../src/app.js';
import { createApplication, type Application } from '../../src/blueprint/application.js';
import { config } from '../../src/core/config.js';
import { isSluiceError, type SluiceError } from '../../src/core/errors.js';
import { parseHocon, parseHoconFile, type HoconDocument } from '../../src/core/hocon.js';
import { defineSchema } from '../../src/core/schema.js';
import { defineStreamlet, outlet } from '../../src/core/streamlet.js';
import { overridesDocument, resolveSettings, type ApplicationSettings } from '../../src/runtime/settings.js';

const Tick = defineSchema({ type: 'record', name: 'Tick', namespace: 'test.settings', fields: [{ name: 'n', type: 'long' }] });
const idle = async (): Promise<void> => {};

const Source = defineStreamlet({
  description: 'Emits ticks',
  outlets: { out: outlet(Tick) },
  config: {
    rate: config.double({ description: 'Ticks per second', default: 10, min: 0 }),
    label: config.string({ description: 'Label of the ticks' }),
    interval: config.duration({ description: 'Time between ticks', default: 100, min: 1 }),
  },
  volumeMounts: { data: { description: 'Where ticks are kept', path: '/var/lib/ticks' } },
  run: idle,
});

const Sink = defineStreamlet({
  description: 'Swallows ticks',
  inlets: { in: Tick },
  config: { verbose: config.boolean({ description: 'Log every tick', default: false }) },
  run: idle,
});

const app: Application = createApplication(
  '/apps/ticker.conf',
  [
    { name: 'source', className: 't.Source', definition: Source },
    { name: 'sink', className: 't.Sink', definition: Sink },
  ],
  [{ name: 'ticks', schema: Tick, producers: [{ streamlet: 'source', outlet: 'out' }], consumers: [{ streamlet: 'sink', inlet: 'in' }] }],
);
const names = new Set(app.streamlets.keys());
const cwd = '/work/here';

const scratch = mkdtempSync(join(tmpdir(), 'sluice-settings-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;

/** Writes a config file and parses it, as `--conf` does. */
async function conf(text: string, name = `layer-${++files}.conf`): Promise<HoconDocument & { file: string }> {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return Object.assign(await parseHoconFile(file), { file });
}

const text = (hocon: string, file = 'inline.conf'): HoconDocument => parseHocon(hocon, { file });
const overrides = (...args: string[]): HoconDocument => overridesDocument(args, names);
/** The minimum every layering needs: source.label is required. */
const labelled = () => text('sluice.streamlets.source.config.label = ticks', 'label.conf');

function resolve(...layers: HoconDocument[]): ApplicationSettings {
  return resolveSettings(app, layers, cwd);
}

/** The problem lines of the SLUICE_ERR_CONFIG_INVALID that resolving `layers` throws. */
function problems(...layers: HoconDocument[]): string[] {
  let err: SluiceError | undefined;
  try {
    resolve(...layers);
  } catch (e) {
    if (!isSluiceError(e, 'SLUICE_ERR_CONFIG_INVALID')) throw e;
    err = e;
  }
  if (!err) throw new Error('the configuration was accepted');
  const [head, ...lines] = err.message.split('\n');
  expect(head).toBe(`configuration: ${lines.length} problem(s):`);
  expect(err.params.where).toBe('configuration');
  return lines.map((line) => line.replace(/^ {2}/, ''));
}

describe('resolveSettings: defaults', () => {
  it('without any layer: every declared default, volumes under .sluice/<blueprint name> in cwd', () => {
    const settings = resolve(labelled());
    expect(settings.host).toEqual({
      http: { host: '127.0.0.1', port: 5000 },
      drainTimeout: 10_000,
      restart: { maxRestarts: 3, backoffMin: 100, backoffMax: 5_000 },
      batch: { maxSize: 512, maxWait: 0 },
    });
    expect(settings.topicCapacity).toBe(8_192);
    expect(settings.logLevel).toBe('info');
    expect(settings.streamlets.get('source')).toEqual({
      config: { rate: 10, label: 'ticks', interval: 100 },
      volumes: { data: '/work/here/.sluice/ticker/source/data' },
    });
    expect(settings.streamlets.get('sink')).toEqual({ config: { verbose: false }, volumes: {} });
    expect([...settings.streamlets.keys()]).toEqual(['source', 'sink']);
  });

  it('is frozen', () => {
    const settings = resolve(labelled());
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.host)).toBe(true);
    expect(Object.isFrozen(settings.streamlets.get('source'))).toBe(true);
    expect(Object.isFrozen(settings.streamlets.get('source')?.config)).toBe(true);
    expect(Object.isFrozen(settings.streamlets.get('source')?.volumes)).toBe(true);
  });

  it('a required parameter nobody sets is a problem naming the streamlet, the key and what it is', () => {
    expect(problems()).toEqual(['streamlet source: config label is required (Label of the ticks)']);
  });
});

describe('resolveSettings: layering', () => {
  it('each --conf file wins over the earlier ones and over the defaults; an untouched key keeps its default', async () => {
    const first = await conf('sluice.streamlets.source.config { label = one, rate = 1 }\nsluice.http.port = 8080\n');
    const second = await conf('sluice.streamlets.source.config.rate = 2\nsluice.drain-timeout = 2s\n');
    expect(resolve(first, second).streamlets.get('source')?.config).toEqual({ rate: 2, label: 'one', interval: 100 });
    expect(resolve(second, first).streamlets.get('source')?.config).toEqual({ rate: 1, label: 'one', interval: 100 });
    expect(resolve(first, second).host.http.port).toBe(8080);
    expect(resolve(first, second).host.drainTimeout).toBe(2_000);
  });

  it('overrides win over every file', async () => {
    const file = await conf('sluice.streamlets.source.config { label = file, rate = 1 }\nsluice.http.port = 8080\n');
    const settings = resolve(file, overrides('source.rate=3', 'sluice.http.port=0'));
    expect(settings.streamlets.get('source')?.config).toEqual({ rate: 3, label: 'file', interval: 100 });
    expect(settings.host.http.port).toBe(0);
  });

  it('a later override wins over an earlier one', () => {
    expect(resolve(labelled(), overrides('source.rate=3', 'source.rate=4')).streamlets.get('source')?.config.rate).toBe(4);
  });

  it('shorthand streamlet.key=value is the streamlet config; the long form is the same', () => {
    const short = resolve(overrides('source.label=a', 'source.interval=2 minutes', 'sink.verbose=yes'));
    const long = resolve(
      overrides('sluice.streamlets.source.config.label=a', 'sluice.streamlets.source.config.interval=2 minutes', 'sluice.streamlets.sink.config.verbose=yes'),
    );
    expect(short.streamlets.get('source')?.config).toEqual({ rate: 10, label: 'a', interval: 120_000 });
    expect(short.streamlets.get('sink')?.config).toEqual({ verbose: true });
    expect(long.streamlets.get('source')).toEqual(short.streamlets.get('source'));
    expect(long.streamlets.get('sink')).toEqual(short.streamlets.get('sink'));
  });

  it('an override value is text: it may hold = and is never a substitution or HOCON syntax', () => {
    const settings = resolve(overrides('source.label=a=b ${HOME} [x] {y}'));
    expect(settings.streamlets.get('source')?.config.label).toBe('a=b ${HOME} [x] {y}');
  });

  it('an override without = is an invalid argument', () => {
    expect(() => overrides('source.rate')).toThrow(
      expect.objectContaining({ code: 'SLUICE_ERR_INVALID_ARGUMENT', message: 'override "source.rate" is not key=value' }),
    );
    expect(() => overrides('=3')).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_INVALID_ARGUMENT', message: 'override "=3" is not key=value' }));
  });

  it('verifyApplication layers the blueprint defaults, --conf files in order, then overrides', async () => {
    const dir = join(scratch, 'app');
    mkdirSync(dir, { recursive: true });
    const blueprint = join(dir, 'ticker.conf');
    writeFileSync(blueprint, 'blueprint {\n  streamlets { source = t.Source, sink = t.Sink }\n  connections { source.out = [sink.in] }\n}\n');
    const a = join(dir, 'a.conf');
    const b = join(dir, 'b.conf');
    writeFileSync(a, 'sluice.streamlets.source.config { label = a, rate = 1, interval = 1s }\n');
    writeFileSync(b, 'sluice.streamlets.source.config { label = b, rate = 2 }\n');
    const { settings } = await verifyApplication({
      blueprint,
      conf: [a, b],
      overrides: ['source.rate=3'],
      packages: { t: { Source, Sink } },
      cwd: '/elsewhere',
    });
    expect(settings.streamlets.get('source')?.config).toEqual({ rate: 3, label: 'b', interval: 1_000 });
    expect(settings.streamlets.get('source')?.volumes).toEqual({ data: '/elsewhere/.sluice/ticker/source/data' });

    await expect(verifyApplication({ blueprint, conf: [b, a], overrides: ['source.rate=fast'], packages: { t: { Source, Sink } } })).rejects.toThrow(
      'configuration: 1 problem(s):\n  <command line>:1:1: streamlet source: config rate expected a number, got "fast"',
    );
  });
});

describe('resolveSettings: positions in messages', () => {
  it('a bad value in a file is reported at file:line:column of the key that set it', async () => {
    const file = await conf('sluice {\n  streamlets {\n    source.config {\n      label = x\n      rate = fast\n    }\n  }\n}\n');
    expect(problems(file)).toEqual([`${file.file}:5:7: streamlet source: config rate expected a number, got "fast"`]);
  });

  it('the position is that of the layer that won', async () => {
    const bad = await conf('sluice.streamlets.source.config { label = x, rate = fast }\n');
    const alsoBad = await conf('\n\nsluice.streamlets.source.config.rate = slow\n');
    expect(problems(bad, alsoBad)).toEqual([`${alsoBad.file}:3:1: streamlet source: config rate expected a number, got "slow"`]);
    expect(problems(alsoBad, bad)).toEqual([`${bad.file}:1:46: streamlet source: config rate expected a number, got "fast"`]);
    expect(problems(bad, overrides('source.label=y', 'source.rate=-1'))).toEqual([
      '<command line>:2:1: streamlet source: config rate must be at least 0, got -1',
    ]);
  });

  it('an override is reported at <command line>:<its index>:1', () => {
    expect(problems(labelled(), overrides('sink.verbose=yes', 'sluice.http.port=http'))).toEqual([
      '<command line>:2:1: sluice.http.port expected an integer, got "http"',
    ]);
  });

  it('every problem at once: host settings, streamlet config, unknown keys, streamlets and mounts', async () => {
    const file = await conf(
      [
        'sluice {',
        '  http.port = -1',
        '  restart { max-restarts = many, backof-min = 1s }',
        '  streamlets {',
        '    source { config { label = x, rate = fast, colour = red }, volume-mounts { logs = /l } }',
        '    sink.replicas = 2',
        '    ghost.config.x = 1',
        '  }',
        '}',
      ].join('\n'),
    );
    const known =
      'http.host, http.port, state-directory, drain-timeout, restart.max-restarts, restart.backoff-min, restart.backoff-max, batch.max-size, batch.max-wait, local.topic-capacity, log.level, metrics.enabled';
    expect(problems(file).sort()).toEqual(
      [
        `${file.file}:2:3: sluice.http.port must be at least 0, got -1`,
        `${file.file}:3:13: sluice.restart.max-restarts expected an integer, got "many"`,
        `${file.file}:3:34: sluice.restart.backof-min is unknown (known: ${known})`,
        `${file.file}:5:34: streamlet source: config rate expected a number, got "fast"`,
        `${file.file}:5:47: streamlet source: config colour is unknown (known: rate, label, interval)`,
        `${file.file}:5:79: streamlet source: no volume mount logs (mounts: data)`,
        `${file.file}:6:5: streamlet sink: unknown setting replicas (settings: config, volume-mounts)`,
        `${file.file}:7:5: sluice.streamlets.ghost: the blueprint has no streamlet ghost (streamlets: source, sink)`,
      ].sort(),
    );
  });
});

describe('resolveSettings: volume mounts', () => {
  it('an absolute path is used as it is', () => {
    expect(resolve(labelled(), overrides('sluice.streamlets.source.volume-mounts.data=/srv/ticks')).streamlets.get('source')?.volumes).toEqual({
      data: '/srv/ticks',
    });
  });

  it('a relative path is resolved against cwd, not against the config file', async () => {
    const file = await conf('sluice.streamlets.source.volume-mounts.data = "state/ticks"\n');
    expect(resolve(labelled(), file).streamlets.get('source')?.volumes).toEqual({ data: '/work/here/state/ticks' });
  });

  it('by default a mount lives under the state directory: <state-directory>/<streamlet>/<mount>', () => {
    expect(resolve(labelled(), overrides('sluice.state-directory=/var/sluice')).streamlets.get('source')?.volumes).toEqual({ data: '/var/sluice/source/data' });
    expect(resolve(labelled(), overrides('sluice.state-directory=run/state')).streamlets.get('source')?.volumes).toEqual({
      data: '/work/here/run/state/source/data',
    });
  });

  it('a mount the streamlet does not declare is a problem listing its mounts', () => {
    expect(problems(labelled(), overrides('sluice.streamlets.sink.volume-mounts.data=/x'))).toEqual([
      '<command line>:1:1: streamlet sink: no volume mount data (mounts: none)',
    ]);
  });

  it('an empty mount path is a problem, not the working directory', () => {
    expect(problems(labelled(), overrides('sluice.streamlets.source.volume-mounts.data='))).toHaveLength(1);
  });

  it('a mount that is not a path is a problem', () => {
    expect(problems(labelled(), text('sluice.streamlets.source.volume-mounts.data = 42'))).toHaveLength(1);
  });
});

describe('resolveSettings: host settings', () => {
  it('reads every sluice.* setting with its type and unit', async () => {
    const file = await conf(
      [
        'sluice {',
        '  http { host = "0.0.0.0", port = 8080 }',
        '  drain-timeout = 30s',
        '  restart { max-restarts = 0, backoff-min = 10ms, backoff-max = 1 minute }',
        '  batch { max-size = 64, max-wait = 5 }',
        '  local.topic-capacity = 100',
        '  log.level = warn',
        '}',
      ].join('\n'),
    );
    const settings = resolve(labelled(), file);
    expect(settings.host).toEqual({
      http: { host: '0.0.0.0', port: 8080 },
      drainTimeout: 30_000,
      restart: { maxRestarts: 0, backoffMin: 10, backoffMax: 60_000 },
      batch: { maxSize: 64, maxWait: 5 },
    });
    expect(settings.topicCapacity).toBe(100);
    expect(settings.logLevel).toBe('warn');
  });

  it('the same from the command line', () => {
    const settings = resolve(
      labelled(),
      overrides(
        'sluice.http.port=0',
        'sluice.drain-timeout=250',
        'sluice.restart.max-restarts=2',
        'sluice.restart.backoff-min=10ms',
        'sluice.log.level=silent',
      ),
    );
    expect(settings.host.http.port).toBe(0);
    expect(settings.host.drainTimeout).toBe(250);
    expect(settings.host.restart).toEqual({ maxRestarts: 2, backoffMin: 10, backoffMax: 5_000 });
    expect(settings.logLevel).toBe('silent');
  });

  it.each([
    ['sluice.http.port=65536', 'sluice.http.port must be at most 65535, got 65536'],
    ['sluice.http.port=80.5', 'sluice.http.port expected an integer, got "80.5"'],
    ['sluice.drain-timeout=forever', 'sluice.drain-timeout expected a duration such as 500ms or 10s, got "forever"'],
    ['sluice.drain-timeout=-1s', 'sluice.drain-timeout must be at least 0ms, got -1000ms'],
    ['sluice.restart.max-restarts=-1', 'sluice.restart.max-restarts must be at least 0, got -1'],
    ['sluice.restart.backoff-min=fast', 'sluice.restart.backoff-min expected a duration such as 500ms or 10s, got "fast"'],
    ['sluice.batch.max-size=0', 'sluice.batch.max-size must be at least 1, got 0'],
    ['sluice.local.topic-capacity=0', 'sluice.local.topic-capacity must be at least 1, got 0'],
    ['sluice.log.level=loud', 'sluice.log.level "loud" does not match /^(debug|info|warn|error|silent)$/'],
  ])('%s is reported', (override, message) => {
    expect(problems(labelled(), overrides(override))).toEqual([`<command line>:1:1: ${message}`]);
  });

  it('an unknown sluice.* key is reported with the known settings', () => {
    const [problem] = problems(labelled(), overrides('sluice.http.prot=80'));
    expect(problem).toMatch(
      /^<command line>:1:1: sluice\.http\.prot is unknown \(known: http\.host, http\.port, state-directory, drain-timeout, restart\.max-restarts, restart\.backoff-min, restart\.backoff-max, batch\.max-size, batch\.max-wait, local\.topic-capacity, log\.level, metrics\.enabled\)$/,
    );
  });

  it('an unknown sluice.* key is not called a parameter "of this streamlet"', () => {
    expect(problems(labelled(), overrides('sluice.http.prot=80'))[0]).not.toContain('of this streamlet');
  });

  it('an override outside sluice that names no streamlet is reported', () => {
    expect(problems(labelled(), overrides('sourc.rate=3'))).toHaveLength(1);
  });

  it('sluice.streamlets that is not an object is reported', () => {
    // (Without its config, source.label is missing too: that problem is not the one looked for.)
    expect(problems(text('sluice.streamlets = 5')).some((p) => p.includes('sluice.streamlets'))).toBe(true);
  });
});
