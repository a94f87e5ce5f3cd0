import { access } from 'node:fs/promises';
import type { ApplicationOptions } from '../app.js';
import { type ParsedArgs, UsageError } from './args.js';

/** `<blueprint> [--conf file]... [key=value]...`, shared by the commands that take an application. */
export async function applicationArgs(args: ParsedArgs): Promise<ApplicationOptions> {
  const [blueprint, ...rest] = args.positionals;
  if (blueprint === undefined) throw new UsageError('missing the blueprint file');
  const stray = rest.find((arg) => !arg.includes('='));
  if (stray !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(stray)}: overrides are key=value`);
  const conf = args.flags.get('--conf') ?? [];
  for (const file of [blueprint, ...conf]) {
    await access(file).catch(() => {
      throw new UsageError(`file not found: ${file}`);
    });
  }
  return { blueprint, conf, overrides: rest };
}
