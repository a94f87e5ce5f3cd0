import { parseConfigValues } from '../core/config.js';
import { isSluiceError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { serverParameters } from '../server/settings.js';
import { logChoice, logFlags, parseArgs, UsageError } from './args.js';
import type { CommandIo } from './main.js';

/** Each server setting's flag. */
const settingFlags = {
  '--host': 'host',
  '--http-port': 'httpPort',
  '--grpc-port': 'grpcPort',
  '--max-batch-size': 'maxBatchSize',
  '--batch-delay': 'batchDelayMs',
  '--max-queue': 'maxQueue',
  '--max-request-size': 'maxRequestBytes',
  '--versions': 'versionsServed',
  '--poll-interval': 'pollIntervalMs',
  '--drain-timeout': 'drainTimeoutMs',
  '--seldon-model': 'seldonModel',
} as const satisfies Readonly<Record<string, keyof typeof serverParameters>>;

const flags = {
  '--models': { takesValue: true },
  ...Object.fromEntries(Object.keys(settingFlags).map((flag) => [flag, { takesValue: true }])),
  ...logFlags,
};

export async function serveCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, flags);
  if (args.positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}: the repository is given with --models <dir>`);
  const models = args.flags.get('--models')?.[0];
  if (models === undefined) throw new UsageError('--models <dir> is required: the model repository to serve');
  const raw: Record<string, string> = {};
  for (const [flag, key] of Object.entries(settingFlags)) {
    const value = args.flags.get(flag)?.[0];
    if (value !== undefined) raw[key] = value;
  }
  const { values: settings, problems } = parseConfigValues(serverParameters, raw);
  const [problem] = problems;
  if (problem) {
    const flag = Object.entries(settingFlags).find(([, key]) => key === problem.key)?.[0] ?? problem.key;
    throw new UsageError(`${flag} ${problem.message}`);
  }
  const { format, level } = logChoice(args);
  const log = createLogger({ level: level ?? 'info', pretty: format === 'pretty' });

  const { startModelServer } = await import('../server/server.js');
  let server;
  try {
    server = await startModelServer({ ...settings, models, log });
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_ERR_CONFIG_INVALID')) throw new UsageError(err.message);
    if (!isSluiceError(err)) throw err;
    io.err(`sluice serve: ${err.message}\n`);
    return 1;
  }
  io.err(`sluice serve: REST and /metrics at ${server.urls.http}, gRPC at ${server.urls.grpc} (Ctrl-C stops)\n`);

  const stopped = new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        io.err(`sluice serve: second ${signal}, exiting without draining\n`);
        process.exit(130);
      }
      io.err(`sluice serve: ${signal} received, answering in-flight requests\n`);
      void server.close().then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await stopped;
  io.err('sluice serve: stopped\n');
  return 0;
}
