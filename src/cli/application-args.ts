import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { ApplicationOptions } from '../app.js';
import { type ParsedArgs, UsageError } from './args.js';

/** `<blueprint> [--conf file]... [key=value]...`, shared by the commands that take an application. */
export async function applicationArgs(args: ParsedArgs): Promise<ApplicationOptions> {
  const [blueprint, ...rest] = args.positionals;
  if (blueprint === undefined) throw new UsageError('missing the blueprint file');
  const stray = rest.find((arg) => arg.indexOf('=') <= 0);
  if (stray !== undefined) {
    throw new UsageError(
      stray.includes('=')
        ? `override ${JSON.stringify(stray)} has no key: overrides are key=value`
        : `unexpected argument ${JSON.stringify(stray)}: overrides are key=value`,
    );
  }
  const conf = args.flags.get('--conf') ?? [];
  for (const file of [blueprint, ...conf]) await readableFile(file);
  return { blueprint, conf, overrides: rest };
}

/** A file the command will read: it must exist, be a file (not a directory) and be readable. */
async function readableFile(file: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new UsageError(`file not found: ${file}`);
  if (!info.isFile()) throw new UsageError(info.isDirectory() ? `${file} is a directory, not a file` : `not a regular file: ${file}`);
  await access(file, constants.R_OK).catch(() => {
    throw new UsageError(`file not readable: ${file} (permission denied)`);
  });
}
