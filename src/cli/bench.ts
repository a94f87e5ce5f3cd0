/**
 * `sluice bench`: the benchmark harness, exactly as `npm run bench` runs it. The harness lives in
 * bench/ as TypeScript, beside the benchmarks other parts of Sluice add there (connectors, the
 * JetStream runtime, external serving), none of which is compiled into dist/; so this command
 * runs bench/run.ts through tsx (a dependency) in a child process, with the terminal handed
 * over, rather than keeping a second, compiled copy of the harness that would drift from it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { CommandIo } from './main.js';

export async function benchCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const root = packageRoot();
  const script = join(root, 'bench', 'run.ts');
  if (!existsSync(script)) {
    io.err(`sluice bench: ${script} is not there: the benchmark harness comes with Sluice's source checkout, not with the installed package\n`);
    return 1;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...argv], { cwd: root, stdio: 'inherit' });
    // Ctrl-C reaches the child through the terminal's process group; a TERM sent to this process is passed on.
    const forward = () => child.kill('SIGTERM');
    process.once('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code) => {
      process.removeListener('SIGTERM', forward);
      resolve(code ?? 1);
    });
  });
}
