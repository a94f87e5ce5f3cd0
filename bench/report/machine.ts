/** What a result was measured on: the machine, its load, the runtimes' versions and the commit of the sources. */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { packageRoot } from '../../src/util/package-root.js';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGB: number;
  readonly node: string;
  readonly platform: string;
  readonly onnxruntime: string;
  readonly tfjs: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on a shared machine. */
  readonly loadavg: readonly number[];
  readonly commit: string;
  /** Files that differ from the commit (`git status --porcelain`): the sources measured are the commit plus these. */
  readonly uncommitted: number;
}

export function currentLoad(): number[] {
  return loadavg().map((l) => Number(l.toFixed(2)));
}

function git(args: readonly string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: packageRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function machine(): Machine {
  const require = createRequire(import.meta.url);
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  const status = git(['status', '--porcelain']);
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    onnxruntime: version('onnxruntime-node'),
    tfjs: version('@tensorflow/tfjs'),
    loadavg: currentLoad(),
    commit: git(['rev-parse', 'HEAD']) ?? 'unknown',
    uncommitted: status === undefined || status === '' ? 0 : status.split('\n').length,
  };
}

export function describeMachine(box: Machine): string {
  return (
    `${box.cpus} cpus (${box.cpuModel}), ${box.memoryGB} GB, ${box.platform}, node ${box.node}, onnxruntime-node ${box.onnxruntime}, ` +
    `tfjs ${box.tfjs}; load average ${box.loadavg.join(' ')}; commit ${box.commit.slice(0, 12)}` +
    (box.uncommitted > 0 ? ` + ${box.uncommitted} uncommitted files` : '')
  );
}
