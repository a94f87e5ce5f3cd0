import { runApplication } from '../app.js';
import { isSluiceError } from '../core/errors.js';
import type { LogLevel } from '../core/log.js';
import { parseArgs, plural, UsageError } from './args.js';
import { applicationArgs } from './application-args.js';
import type { CommandIo } from './main.js';

const flags = {
  '--conf': { takesValue: true, repeatable: true },
  '--quiet': { takesValue: false },
  '--verbose': { takesValue: false },
  '--log-format': { takesValue: true },
} as const;

export async function runCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, flags);
  const options = await applicationArgs(args);
  const format = args.flags.get('--log-format')?.[0] ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty' && format !== 'json') throw new UsageError(`--log-format must be pretty or json, got ${JSON.stringify(format)}`);
  const quiet = args.flags.has('--quiet');
  const verbose = args.flags.has('--verbose');
  if (quiet && verbose) throw new UsageError('--quiet and --verbose exclude each other');
  const logLevel: LogLevel | undefined = quiet ? 'warn' : verbose ? 'debug' : undefined;

  let app;
  try {
    app = await runApplication({ ...options, prettyLogs: format === 'pretty', ...(logLevel ? { logLevel } : {}) });
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    io.err(`sluice run: ${err.message}\n`);
    return 1;
  }
  io.err(`sluice: ${plural(app.application.streamlets.size, 'streamlet')} running; endpoints at ${app.url}/state (Ctrl-C stops)\n`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      io.err(`sluice: second ${signal}, exiting without draining\n`);
      process.exit(130);
    }
    io.err(`sluice: ${signal} received, draining in-flight work\n`);
    void app.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await app.finished;
    if (!outcome.ok) {
      io.err(`sluice: ${outcome.error.message}\n`);
      return 1;
    }
    io.err('sluice: stopped\n');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
