import { verifyApplication } from '../app.js';
import { isSluiceError } from '../core/errors.js';
import { parseArgs, plural } from './args.js';
import { applicationArgs } from './application-args.js';
import type { CommandIo } from './main.js';

export async function verifyCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const options = await applicationArgs(parseArgs(argv, { '--conf': { takesValue: true, repeatable: true } }));
  try {
    const { application } = await verifyApplication(options);
    const topics = application.topics.map(
      (t) =>
        `  ${t.name}: ${t.producers.map((p) => `${p.streamlet}.${p.outlet}`).join(', ') || 'runtime'} -> ${t.consumers.map((c) => `${c.streamlet}.${c.inlet}`).join(', ') || '(none)'} [${t.schema.name}]`,
    );
    io.out(
      `${options.blueprint} is valid: ${plural(application.streamlets.size, 'streamlet')}, ${plural(application.topics.length, 'topic')}\n${topics.map((line) => `${line}\n`).join('')}`,
    );
    return 0;
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    io.err(`${err.message}\n`);
    return 1;
  }
}
