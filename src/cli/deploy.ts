import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isSluiceError } from '../core/errors.js';
import { deployOptionProblems, renderDeployment, writeDeployment } from '../deploy/deploy.js';
import { parseArgs, plural, UsageError } from './args.js';
import { applicationArgs } from './application-args.js';
import type { CommandIo } from './main.js';

const flags = {
  '--conf': { takesValue: true, repeatable: true },
  '--out': { takesValue: true },
  '--image': { takesValue: true },
  '--namespace': { takesValue: true },
  '--nats-secret': { takesValue: true },
} as const;

export async function deployCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, flags);
  const application = await applicationArgs(args);
  const out = args.flags.get('--out')?.[0];
  if (out === undefined) throw new UsageError('missing --out <dir>, the directory the manifests are written to');
  const chosen = {
    image: args.flags.get('--image')?.[0],
    namespace: args.flags.get('--namespace')?.[0],
    natsSecret: args.flags.get('--nats-secret')?.[0],
  };
  const wrong = deployOptionProblems(chosen);
  if (wrong.length > 0) throw new UsageError(wrong.join('\n'));
  await writableDirectory(out);

  try {
    const rendered = await renderDeployment({
      ...application,
      ...(chosen.image === undefined ? {} : { image: chosen.image }),
      ...(chosen.namespace === undefined ? {} : { namespace: chosen.namespace }),
      ...(chosen.natsSecret === undefined ? {} : { natsSecret: chosen.natsSecret }),
    });
    const written = await writeDeployment(rendered, out);
    const objects = rendered.files.reduce((sum, file) => sum + file.objects.length, 0);
    const namespace = chosen.namespace === undefined ? '' : ` -n ${chosen.namespace}`;
    io.out(
      `${plural(objects, 'object')} for ${plural(rendered.application.streamlets.size, 'streamlet')} in ${plural(written.length, 'file')}:\n${written.map((path) => `  ${path}\n`).join('')}` +
        `Give the containers the broker, then apply:\n` +
        `  kubectl${namespace} create secret generic ${rendered.natsSecret} --from-literal=url=nats://<host>:4222\n` +
        `  kubectl${namespace} apply -f ${out}\n`,
    );
    return 0;
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    io.err(`sluice deploy: ${err.message}\n`);
    return 1;
  }
}

/** `--out` must be a directory this process can write, or be creatable in one: checked before any work. */
async function writableDirectory(out: string): Promise<void> {
  let path = resolve(out);
  for (;;) {
    const info = await stat(path).catch(() => undefined);
    if (info) {
      if (!info.isDirectory()) {
        throw new UsageError(path === resolve(out) ? `--out ${out} is a file, not a directory` : `--out ${out}: ${path} is a file, not a directory`);
      }
      await access(path, constants.W_OK).catch(() => {
        throw new UsageError(`--out ${out}: ${path} is not writable (permission denied)`);
      });
      return;
    }
    path = dirname(path);
  }
}
