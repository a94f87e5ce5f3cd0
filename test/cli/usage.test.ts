/**
 * The `sluice` command line as a user meets it: usage, help, version, and every usage error
 * (exit 2, the problem named on stderr, followed by the command's usage).
 * Runs the compiled CLI: `npm run build` first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, sluice, type Finished } from '../support/cli.js';

const blueprint = 'examples/recommender/recommender.conf';

const overview = `usage: sluice <command> [options]

commands:
  run     Run an application from its blueprint
  verify  Check a blueprint and print every problem
  bench   Measure Sluice against its limits (the benchmark harness)
  serve   Serve a model repository over Open Inference, TF Serving and Seldon protocols
  status  Show an application running on NATS: replicas, consumer lag, models
  scale   Change how many replicas of a streamlet run on NATS
  deploy  Render Kubernetes manifests for an application on NATS

Run 'sluice <command> --help' for a command's options.
`;

const runUsage = `usage: sluice run <blueprint> [--conf <file>]... [key=value]... [--runtime local|nats [--nats-url <url>] [--streamlet <name> | --in-process]]
           [--quiet | --verbose] [--log-format json|pretty]

Runs the application until SIGINT or SIGTERM, which drain in-flight work and persist state
before exiting. On the local runtime (the default) every streamlet runs in this process; with
--runtime nats the topics are JetStream streams and a supervisor runs one process per streamlet
replica (sluice.nats.replicas.<streamlet>). See docs/nats-runtime.md.

  --conf <file>        HOCON config layered over the declared defaults; repeat it, later wins
  key=value            an override that wins over every file, e.g.
                         sluice.http.port=8080
                         data-ingress.records-per-second=200   (a streamlet's config, shorthand)
  --runtime <r>        local (default) or nats
  --nats-url <url>     the JetStream server (sluice.nats.url; default nats://127.0.0.1:4222)
  --streamlet <name>   run one replica of one streamlet in this process (what a container runs)
  --in-process         run every streamlet in this process, on JetStream
  --quiet              log warnings and errors only
  --verbose            log debug messages too
  --log-format <f>     pretty (default on a terminal) or json (one object per line, on stderr)
`;

const verifyUsage = `usage: sluice verify <blueprint> [--conf <file>]... [key=value]...

Validates the blueprint (names, classes, ports, connections, schema compatibility) and, with
--conf files or overrides, the configuration too. Prints every problem with its file and line;
exits 1 if there is any.
`;

/** A usage error of `command`: exit 2, nothing on stdout, the message then the command's usage on stderr. */
function expectUsageError(result: Finished, command: 'run' | 'verify', message: string): void {
  expect(result.stderr).toBe(`sluice ${command}: ${message}\n\n${command === 'run' ? runUsage : verifyUsage}`);
  expect(result.stdout).toBe('');
  expect(result.code).toBe(2);
}

describe('sluice usage and help', () => {
  it('without arguments prints the usage on stderr and exits 2', async () => {
    const result = await sluice([]);
    expect(result.stderr).toBe(overview);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it.each([['--help'], ['-h'], ['help']])('%s prints the usage on stdout and exits 0', async (flag) => {
    const result = await sluice([flag]);
    expect(result.stdout).toBe(overview);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('run --help prints the options of run and exits 0, whatever else is on the line', async () => {
    for (const args of [
      ['run', '--help'],
      ['run', 'no-such.conf', '--nope', '-h'],
    ]) {
      const result = await sluice(args);
      expect(result.stdout).toBe(runUsage);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
  });

  it('verify --help prints the options of verify and exits 0', async () => {
    const result = await sluice(['verify', '--help']);
    expect(result.stdout).toBe(verifyUsage);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-v']) {
      const result = await sluice([flag]);
      expect(result.stdout).toBe(`${version}\n`);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
  });
});

describe('sluice usage errors exit 2 and name the problem', () => {
  it('an unknown command is named, followed by the usage', async () => {
    const result = await sluice(['deploy-everything', blueprint]);
    expect(result.stderr).toBe(`sluice: unknown command "deploy-everything"\n\n${overview}`);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('an unknown option is named, before any file is looked at', async () => {
    expectUsageError(await sluice(['run', 'x.conf', '--nope']), 'run', 'unknown option --nope');
    expectUsageError(await sluice(['run', blueprint, '--nope=3']), 'run', 'unknown option --nope');
    expectUsageError(await sluice(['verify', blueprint, '--quiet']), 'verify', 'unknown option --quiet');
  });

  it('an option missing its value', async () => {
    expectUsageError(await sluice(['run', blueprint, '--conf']), 'run', 'option --conf needs a value');
    expectUsageError(await sluice(['run', blueprint, '--conf=']), 'run', 'option --conf needs a value');
    expectUsageError(await sluice(['run', blueprint, '--log-format']), 'run', 'option --log-format needs a value');
    // The next option is not taken for the value.
    expectUsageError(await sluice(['verify', blueprint, '--conf', '--help-me']), 'verify', 'option --conf needs a value');
    expectUsageError(await sluice(['run', blueprint, '--conf', '--quiet']), 'run', 'option --conf needs a value');
  });

  it('a flag given a value, and a single-use option given twice', async () => {
    expectUsageError(await sluice(['run', blueprint, '--quiet=yes']), 'run', 'option --quiet takes no value');
    expectUsageError(await sluice(['run', blueprint, '--log-format', 'json', '--log-format=pretty']), 'run', 'option --log-format given twice');
  });

  it('the blueprint argument is missing', async () => {
    expectUsageError(await sluice(['run']), 'run', 'missing the blueprint file');
    expectUsageError(await sluice(['verify', '--conf', 'test/fixtures/cli/local.conf']), 'verify', 'missing the blueprint file');
  });

  it('the blueprint file does not exist, or is a directory', async () => {
    expectUsageError(await sluice(['run', 'no-such-blueprint.conf']), 'run', 'file not found: no-such-blueprint.conf');
    expectUsageError(await sluice(['verify', 'examples/recommender']), 'verify', 'examples/recommender is a directory, not a file');
  });

  it('a --conf file does not exist, or is a directory', async () => {
    expectUsageError(
      await sluice(['run', blueprint, '--conf', 'test/fixtures/cli/local.conf', '--conf', 'missing-local.conf']),
      'run',
      'file not found: missing-local.conf',
    );
    expectUsageError(await sluice(['verify', blueprint, '--conf=test/fixtures']), 'verify', 'test/fixtures is a directory, not a file');
  });

  it('a stray positional argument that is not key=value', async () => {
    expectUsageError(await sluice(['run', blueprint, 'other.conf']), 'run', 'unexpected argument "other.conf": overrides are key=value');
    expectUsageError(await sluice(['verify', blueprint, 'sluice.http.port=0', 'port']), 'verify', 'unexpected argument "port": overrides are key=value');
  });

  it('an override without a key', async () => {
    expectUsageError(await sluice(['run', blueprint, '=8080']), 'run', 'override "=8080" has no key: overrides are key=value');
  });

  it('--quiet and --verbose together', async () => {
    expectUsageError(await sluice(['run', blueprint, '--quiet', '--verbose']), 'run', '--quiet and --verbose exclude each other');
  });

  it('a --log-format other than pretty or json', async () => {
    expectUsageError(await sluice(['run', blueprint, '--log-format', 'xml']), 'run', '--log-format must be pretty or json, got "xml"');
    expectUsageError(await sluice(['run', blueprint, '--log-format=JSON']), 'run', '--log-format must be pretty or json, got "JSON"');
  });
});
