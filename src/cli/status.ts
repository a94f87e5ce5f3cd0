import { isSluiceError } from '../core/errors.js';
import type { ApplicationStatus } from '../runtime/nats/status.js';
import { parseArgs, UsageError } from './args.js';
import type { CommandIo } from './main.js';

const flags = { '--nats-url': { takesValue: true }, '--json': { takesValue: false } } as const;

/** `sluice status <app>`: streamlets and their replicas, consumer lag, serving models of an application on NATS. */
export async function statusCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, flags);
  const [app, ...extra] = args.positionals;
  if (app === undefined) throw new UsageError('missing the application name');
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const { connectOnce, DEFAULT_NATS_URL } = await import('../runtime/nats/cli-connection.js');
  const { applicationStatus } = await import('../runtime/nats/status.js');
  const { brokerName } = await import('../runtime/nats/names.js');
  try {
    const nc = await connectOnce(args.flags.get('--nats-url')?.[0] ?? DEFAULT_NATS_URL);
    try {
      const status = await applicationStatus(nc, brokerName(app));
      io.out(args.flags.has('--json') ? `${JSON.stringify(status, null, 2)}\n` : render(status));
      return 0;
    } finally {
      await nc.close();
    }
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    io.err(`sluice status: ${err.message}\n`);
    return 1;
  }
}

function render(status: ApplicationStatus): string {
  const lines = [`application ${status.application} (${status.blueprint})`, '', 'streamlets'];
  for (const s of status.streamlets) {
    lines.push(`  ${s.name} (${s.className}): ${s.replicas.length} running${s.wanted === undefined ? '' : `, ${s.wanted} wanted`}`);
    for (const r of s.replicas) {
      const state = r.state as { name?: unknown; usage?: unknown } | undefined;
      const model = typeof state?.name === 'string' && state.name !== '' ? `, serving ${state.name} (${String(state.usage ?? 0)} records)` : '';
      lines.push(`    ${r.replica}: pid ${r.pid} on ${r.host}, ${r.url}${model}`);
    }
  }
  lines.push('', 'inlets');
  for (const i of status.inlets) {
    const lag = i.broadcast
      ? 'model updates, read by every replica'
      : (i.problem ?? `${i.pending ?? 0} waiting, ${i.unacknowledged ?? 0} delivered and not yet committed`);
    lines.push(`  ${i.streamlet}.${i.inlet} ← ${i.topic}: ${lag}`);
  }
  if (status.models.length > 0) {
    lines.push('', 'models published');
    for (const m of status.models) {
      lines.push(
        `  ${m.topic}: ${m.model ? `${m.model.modelName} (${m.model.modelType}, ${m.model.bytes === 'object store' ? 'in the object store' : `${m.model.bytes} bytes`}, ${m.model.published})` : 'none yet'}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
