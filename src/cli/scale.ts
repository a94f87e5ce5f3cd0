import { isSluiceError } from '../core/errors.js';
import { parseArgs, plural, UsageError } from './args.js';
import type { CommandIo } from './main.js';

const flags = { '--nats-url': { takesValue: true } } as const;

/** `sluice scale <app> <streamlet> <replicas>`: sets the replicas the application's supervisor keeps running. */
export async function scaleCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, flags);
  const [app, streamlet, count, ...extra] = args.positionals;
  if (app === undefined || streamlet === undefined || count === undefined) throw new UsageError('expected <application> <streamlet> <replicas>');
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const replicas = /^\d+$/.test(count) ? Number(count) : Number.NaN;
  if (!Number.isSafeInteger(replicas) || replicas > 1_000) throw new UsageError(`replicas must be a whole number from 0 to 1000, got ${JSON.stringify(count)}`);
  const { connectOnce, DEFAULT_NATS_URL } = await import('../runtime/nats/cli-connection.js');
  const { ControlBucket } = await import('../runtime/nats/control.js');
  const { brokerName } = await import('../runtime/nats/names.js');
  try {
    const nc = await connectOnce(args.flags.get('--nats-url')?.[0] ?? DEFAULT_NATS_URL);
    try {
      const { control, topology } = await ControlBucket.existing(nc, brokerName(app));
      if (!topology.streamlets.some((s) => s.name === streamlet)) {
        io.err(`sluice scale: application ${app} has no streamlet ${streamlet} (streamlets: ${topology.streamlets.map((s) => s.name).join(', ')})\n`);
        return 1;
      }
      const before = await control.scale(streamlet);
      await control.setScale(streamlet, replicas);
      io.out(`${streamlet}: ${plural(replicas, 'replica')}${before === undefined ? '' : ` (was ${before})`}\n`);
      return 0;
    } finally {
      await nc.close();
    }
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    io.err(`sluice scale: ${err.message}\n`);
    return 1;
  }
}
