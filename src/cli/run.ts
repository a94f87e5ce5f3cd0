import type { StartedApplication } from '../app.js';
import { runApplication, verifyApplication } from '../app.js';
import { isSluiceError } from '../core/errors.js';
import type { Supervisor } from '../runtime/nats/supervisor.js';
import { createLogger, type LogLevel } from '../core/log.js';
import { logChoice, logFlags, parseArgs, plural, UsageError } from './args.js';
import { applicationArgs } from './application-args.js';
import type { CommandIo } from './main.js';

const flags = {
  '--conf': { takesValue: true, repeatable: true },
  ...logFlags,
  '--runtime': { takesValue: true },
  '--nats-url': { takesValue: true },
  '--streamlet': { takesValue: true },
  '--in-process': { takesValue: false },
} as const;

export async function runCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, flags);
  const parsed = await applicationArgs(args);
  const { format, level: logLevel } = logChoice(args);
  const runtime = args.flags.get('--runtime')?.[0] ?? 'local';
  if (runtime !== 'local' && runtime !== 'nats') throw new UsageError(`--runtime must be local or nats, got ${JSON.stringify(runtime)}`);
  const streamlet = args.flags.get('--streamlet')?.[0];
  const inProcess = args.flags.has('--in-process');
  const natsUrl = args.flags.get('--nats-url')?.[0];
  if (runtime === 'local' && (streamlet !== undefined || inProcess || natsUrl !== undefined)) {
    throw new UsageError(`${streamlet !== undefined ? '--streamlet' : inProcess ? '--in-process' : '--nats-url'} needs --runtime nats`);
  }
  if (streamlet !== undefined && inProcess) throw new UsageError('--streamlet and --in-process exclude each other');
  // The flag is a shorthand for the setting, and wins like a command-line override.
  const options = { ...parsed, overrides: [...(parsed.overrides ?? []), ...(natsUrl === undefined ? [] : [`sluice.nats.url=${natsUrl}`])] };
  if (runtime === 'nats' && streamlet === undefined && !inProcess) return supervise(options, format, logLevel, io);

  let app: StartedApplication;
  try {
    app = await runApplication({
      ...options,
      prettyLogs: format === 'pretty',
      ...(logLevel ? { logLevel } : {}),
      runtime,
      ...(streamlet === undefined ? {} : { streamlets: [streamlet] }),
      ...(process.env.SLUICE_REPLICA_ID ? { replica: process.env.SLUICE_REPLICA_ID } : {}),
    });
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    io.err(`sluice run: ${err.message}\n`);
    return 1;
  }
  // A replica of a supervisor that was killed outright stops (draining) rather than run on unseen.
  const unwatch =
    runtime === 'nats'
      ? (await import('../runtime/nats/supervisor.js')).whenSupervisorGone(() => {
          io.err('sluice: the supervisor is gone; stopping\n');
          void app.stop();
        })
      : () => undefined;
  const what = streamlet === undefined ? plural(app.application.streamlets.size, 'streamlet') : `streamlet ${streamlet}`;
  io.err(`sluice: ${what} running${runtime === 'nats' ? ` on NATS (${app.settings.nats.application})` : ''}; endpoints at ${app.url}/state (Ctrl-C stops)\n`);

  return untilSignalled(
    io,
    () => void app.stop(),
    async () => {
      const outcome = await app.finished;
      if (!outcome.ok) {
        io.err(`sluice: ${outcome.error.message}\n`);
        return 1;
      }
      io.err('sluice: stopped\n');
      return 0;
    },
  ).finally(unwatch);
}

/** `--runtime nats` without `--streamlet`: one process per streamlet replica, supervised from here. */
async function supervise(
  options: Awaited<ReturnType<typeof applicationArgs>>,
  format: 'pretty' | 'json',
  logLevel: LogLevel | undefined,
  io: CommandIo,
): Promise<number> {
  const nats = await import('../runtime/nats/supervisor.js');
  let supervisor: Supervisor;
  try {
    const { application, settings } = await verifyApplication(options);
    const log = createLogger({ level: logLevel ?? settings.logLevel, pretty: format === 'pretty' });
    const script = process.argv[1] ?? 'sluice';
    const conf = (options.conf ?? []).flatMap((file) => ['--conf', file]);
    const verbosity = logLevel === 'warn' ? ['--quiet'] : logLevel === 'debug' ? ['--verbose'] : [];
    supervisor = await nats.Supervisor.start({
      application,
      settings,
      log,
      command: (streamlet) => ({
        command: process.execPath,
        args: [
          ...process.execArgv,
          script,
          'run',
          options.blueprint,
          ...conf,
          ...verbosity,
          '--log-format',
          format,
          '--runtime',
          'nats',
          '--streamlet',
          streamlet,
          ...(options.overrides ?? []),
          // Replicas share a host: each takes a free port and reports it (sluice status).
          'sluice.http.port=0',
        ],
      }),
    });
    const counts = Object.values(supervisor.counts()).reduce((sum, c) => sum + c.wanted, 0);
    io.err(
      `sluice: ${plural(counts, 'replica')} of ${plural(application.streamlets.size, 'streamlet')} starting on NATS (${settings.nats.application}); sluice status ${settings.nats.application} lists them (Ctrl-C stops)\n`,
    );
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    io.err(`sluice run: ${err.message}\n`);
    return 1;
  }
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => (stopped = resolve));
  return untilSignalled(io, stopped, async () => {
    await stop;
    await supervisor.stop();
    io.err('sluice: stopped\n');
    return 0;
  });
}

/** Runs `body`; the first SIGINT/SIGTERM calls `onSignal` (drain), a second exits at once with 130. */
async function untilSignalled(io: CommandIo, onSignal: () => void, body: () => Promise<number>): Promise<number> {
  let signals = 0;
  const handler = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      io.err(`sluice: second ${signal}, exiting without draining\n`);
      process.exit(130);
    }
    io.err(`sluice: ${signal} received, draining in-flight work\n`);
    onSignal();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await body();
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}
