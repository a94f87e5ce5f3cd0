import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const sluiceBin = join(root, 'bin', 'sluice.js');

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sluice` to completion, as a user would from a shell. */
export function sluice(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<Finished> {
  return new SluiceProcess(args, options.cwd).finished(options.timeoutMs ?? 60_000);
}

/** A running `sluice` process whose output can be awaited line by line. */
export class SluiceProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exit: Promise<Finished>;

  constructor(args: readonly string[], cwd = root) {
    this.child = spawn(process.execPath, [sluiceBin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exit = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })));
  }

  /** Waits until stdout or stderr matches. */
  async waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this[stream].match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `${stream} never matched ${pattern} (exit ${this.child.exitCode})\n--- stdout ---\n${this.stdout.slice(-2000)}\n--- stderr ---\n${this.stderr.slice(-4000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The base URL the application printed for its endpoints. */
  async url(): Promise<string> {
    const match = await this.waitFor(/endpoints at (http:\/\/[\d.:]+)\/state/, 'stderr');
    return match[1] as string;
  }

  async finished(timeoutMs = 60_000): Promise<Finished> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`sluice did not exit within ${timeoutMs} ms\n--- stderr ---\n${this.stderr.slice(-4000)}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Polls until `condition` holds; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The JSON log lines of a run's stderr, parsed. */
export function logEntries(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
