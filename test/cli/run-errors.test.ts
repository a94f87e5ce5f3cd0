/**
 * `sluice run` when things go wrong: bad configuration and an occupied port stop the start
 * (exit 1) before any streamlet runs; a failing streamlet is restarted with backoff, and past
 * `sluice.restart.max-restarts` the application stops with exit 1 naming it and its error.
 * Runs the compiled CLI: `npm run build` first (the fixture module imports dist/).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sluice, SluiceProcess } from '../support/cli.js';

const recommender = 'examples/recommender/recommender.conf';
const failing = 'test/fixtures/cli/failing.conf';
const flaky = 'test/fixtures/cli/flaky.conf';

const scratch = mkdtempSync(join(tmpdir(), 'sluice-run-errors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(scratch, `case-${++dirs}`);

/** The JSON log lines of stderr (`--log-format json` is the default off a terminal). */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The lines of stderr Sluice writes for people, without the log lines. */
function messages(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '' && !line.startsWith('{'));
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no port'));
      else resolve(address.port);
    });
  });
}

describe('sluice run refuses to start', () => {
  it('with a bad config value: exit 1 naming the streamlet and key, before anything runs', async () => {
    const state = freshDir();
    const result = await sluice(['run', recommender, 'sluice.http.port=0', `sluice.state-directory=${state}`, 'data-ingress.records-per-second=fast']);
    expect(result.stderr).toBe(
      'sluice run: configuration: 1 problem(s):\n  <command line>:3:1: streamlet data-ingress: config records-per-second expected a number, got "fast"\n',
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/running/);
    // No streamlet started: none created its volume.
    expect(existsSync(state)).toBe(false);
  });

  it('with every problem of a --conf file at once', async () => {
    const conf = 'test/fixtures/cli/bad-values.conf';
    const result = await sluice(['run', recommender, '--conf', conf, 'sluice.http.port=0', `sluice.state-directory=${freshDir()}`]);
    expect(result.stderr).toBe(
      `sluice run: configuration: 2 problem(s):
  ${conf}:5:7: streamlet data-ingress: config records-per-second expected a number, got "fast"
  ${conf}:8:5: streamlet model-ingress: config interval must be at least 1ms, got 0ms
`,
    );
    expect(result.code).toBe(1);
  });

  it('with an invalid blueprint', async () => {
    const file = 'test/fixtures/cli/syntax-error.conf';
    const result = await sluice(['run', file, 'sluice.http.port=0']);
    expect(result.stderr).toBe(`sluice run: blueprint ${file} has 1 problem(s):\n  ${file}:7:3: expected an array element or ']', found '}'\n`);
    expect(result.code).toBe(1);
  });

  it('when sluice.http.port is taken: exit 1 naming sluice.http.port, before any streamlet runs', async () => {
    const server = createServer();
    const port = await listen(server);
    try {
      const state = freshDir();
      const result = await sluice(['run', recommender, `sluice.http.port=${port}`, `sluice.state-directory=${state}`]);
      expect(result.stderr).toBe(
        `sluice run: sluice.http.port: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`,
      );
      expect(result.stdout).toBe('');
      expect(result.code).toBe(1);
      expect(existsSync(state)).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('sluice run with a failing streamlet', () => {
  it('restarts it max-restarts times with doubling backoff, then exits 1 naming the streamlet and its error', async () => {
    const result = await sluice(['run', failing, 'sluice.http.port=0', 'sluice.restart.max-restarts=2', 'sluice.restart.backoff-min=10ms']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');

    const failures = logLines(result.stderr).filter((l) => l.level === 'error');
    expect(failures.map(({ streamlet, msg, error, attempt, backoffMs, restarts }) => ({ streamlet, msg, error, attempt, backoffMs, restarts }))).toEqual([
      { streamlet: 'failing', msg: 'streamlet failed; restarting', error: 'boom', attempt: 1, backoffMs: 10, restarts: undefined },
      { streamlet: 'failing', msg: 'streamlet failed; restarting', error: 'boom', attempt: 2, backoffMs: 20, restarts: undefined },
      {
        streamlet: 'failing',
        msg: 'streamlet failed; no restarts left, stopping the application',
        error: 'boom',
        attempt: undefined,
        backoffMs: undefined,
        restarts: 2,
      },
    ]);
    const lines = messages(result.stderr);
    expect(lines).toContainEqual(expect.stringMatching(/^sluice: 1 streamlet running; endpoints at http:\/\/127\.0\.0\.1:\d+\/state \(Ctrl-C stops\)$/));
    // The last word is the failure, for the user.
    expect(lines.at(-1)).toBe('sluice: streamlet failing failed: boom');
  });

  it('with max-restarts=0 gives up at the first failure', async () => {
    const result = await sluice(['run', failing, 'sluice.http.port=0', 'sluice.restart.max-restarts=0']);
    expect(result.code).toBe(1);
    const failures = logLines(result.stderr).filter((l) => l.level === 'error');
    expect(failures.map((l) => [l.msg, l.error, l.restarts])).toEqual([['streamlet failed; no restarts left, stopping the application', 'boom', 0]]);
    expect(messages(result.stderr).at(-1)).toBe('sluice: streamlet failing failed: boom');
  });

  it('logs the failures for people with --log-format pretty', async () => {
    const result = await sluice([
      'run',
      failing,
      '--log-format',
      'pretty',
      'sluice.http.port=0',
      'sluice.restart.max-restarts=1',
      'sluice.restart.backoff-min=10ms',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR \[failing\] streamlet failed; restarting \{"error":"boom","attempt":1,"backoffMs":10\}$/m);
    expect(result.stderr).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} ERROR \[failing\] streamlet failed; no restarts left, stopping the application \{"error":"boom","restarts":1\}$/m,
    );
    expect(result.stderr).not.toMatch(/^\{/m);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('sluice: streamlet failing failed: boom');
  });

  it('--quiet still shows the failures', async () => {
    const result = await sluice(['run', failing, '--quiet', 'sluice.http.port=0', 'sluice.restart.max-restarts=1', 'sluice.restart.backoff-min=10ms']);
    expect(result.code).toBe(1);
    const logged = logLines(result.stderr);
    expect(logged.map((l) => l.msg)).toEqual(['streamlet failed; restarting', 'streamlet failed; no restarts left, stopping the application']);
  });

  it('keeps running after a failure that a restart heals, until SIGTERM; then exits 0', async () => {
    const marker = `${freshDir()}-marker`;
    const app = new SluiceProcess([
      'run',
      flaky,
      'sluice.http.port=0',
      'sluice.restart.max-restarts=1',
      'sluice.restart.backoff-min=10ms',
      `flaky.marker=${marker}`,
    ]);
    try {
      const url = await app.url();
      await app.waitFor(/"msg":"flaky streamlet recovered"/, 'stderr');
      expect(existsSync(marker)).toBe(true);
      // Still serving: the application did not stop after the failure.
      const response = await fetch(`${url}/streamlets`);
      expect(await response.json()).toEqual([{ name: 'flaky', className: 'fixtures.Flaky' }]);
      const failures = logLines(app.stderr).filter((l) => l.level === 'error');
      expect(failures.map((l) => [l.streamlet, l.msg, l.error, l.attempt, l.backoffMs])).toEqual([
        ['flaky', 'streamlet failed; restarting', 'first run fails', 1, 10],
      ]);
    } finally {
      app.child.kill('SIGTERM');
    }
    const done = await app.finished();
    expect(done.code).toBe(0);
    const lines = messages(done.stderr);
    expect(lines).toContain('sluice: SIGTERM received, draining in-flight work');
    expect(lines.at(-1)).toBe('sluice: stopped');
    expect(logLines(done.stderr).some((l) => String(l.msg).includes('no restarts left'))).toBe(false);
  });
});
