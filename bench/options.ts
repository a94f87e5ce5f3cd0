/** The bench's command line: options, and which configurations, stages and suites `--only` picks. */
import { join } from 'node:path';
import { packageRoot } from '../src/util/package-root.js';
import { servingConfigurations, suites, type ServingConfiguration, type Suite } from './configurations.js';
import { stages, type Stage } from './measure.js';
import { executorIds } from './workloads/workload.js';

export const RESULTS = join(packageRoot(), 'bench', 'results');

export const usage = `usage: npm run bench -- [options]   (or: sluice bench [options])

  --quick              short steps and one round: a smoke test under two minutes, suites only when named
  --only=<t>,...       configurations (${servingConfigurations.map((c) => c.id).join(', ')}),
                       workloads (recommender, fraud, ffnn), executors (${executorIds.join(', ')}),
                       stages (${stages.join(', ')}; latency needs the stepping, which then runs too),
                       suites (${suites.map((s) => s.id).join(', ')})
  --rounds=N           rounds of the raw and sweep stages (median of them; default 3, quick 1)
  --json=PATH          where the JSON results go (default bench/results/latest.json); --no-json: nowhere
  --publish            write the plots to docs/benchmarks/ and the results into docs/benchmarks.md
                       (default for a full run of everything); --no-publish: bench/results/ only`;

export interface Args {
  readonly quick: boolean;
  readonly only: readonly string[] | undefined;
  readonly rounds: number | undefined;
  readonly json: string | undefined;
  readonly publish: boolean | undefined;
  /**
   * Internal: this process measures the one configuration `--only` names for a parent bench and
   * writes its result to `file`; `clockMs` is the parent's clock, so progress lines go on from it.
   */
  readonly child: { readonly file: string; readonly clockMs: number } | undefined;
}

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): Args | 'help' {
  let quick = false;
  let only: string[] | undefined;
  let rounds: number | undefined;
  let json: string | undefined = join(RESULTS, 'latest.json');
  let publish: boolean | undefined;
  let childFile: string | undefined;
  let clockMs = 0;
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only='))
      only = arg
        .slice('--only='.length)
        .split(',')
        .filter((t) => t !== '');
    else if (arg.startsWith('--rounds=')) {
      rounds = Number(arg.slice('--rounds='.length));
      if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`--rounds must be a positive integer, not ${arg.slice('--rounds='.length)}`);
    } else if (arg.startsWith('--json=')) json = arg.slice('--json='.length);
    else if (arg === '--no-json') json = undefined;
    else if (arg === '--publish') publish = true;
    else if (arg === '--no-publish') publish = false;
    else if (arg.startsWith('--child=')) childFile = arg.slice('--child='.length);
    else if (arg.startsWith('--clock=')) clockMs = Number(arg.slice('--clock='.length)) || 0;
    else throw new UsageError(`unknown argument ${arg}`);
  }
  return { quick, only, rounds, json, publish, child: childFile === undefined ? undefined : { file: childFile, clockMs } };
}

export interface Selection {
  readonly configurations: readonly ServingConfiguration[];
  readonly stages: ReadonlySet<Stage>;
  readonly suites: readonly Suite[];
}

/** What `--only` picks: configurations by id, workload or executor; stages; suites. Without it, everything (suites in quick mode only when named). */
export function select(only: readonly string[] | undefined, quick: boolean): Selection {
  const tokens = only ?? [];
  const isStage = (t: string): t is Stage => (stages as readonly string[]).includes(t);
  const configurationTokens = tokens.filter((t) => servingConfigurations.some((c) => c.id === t || c.workload === t || c.executor === t));
  const suiteTokens = tokens.filter((t) => suites.some((s) => s.id === t));
  const stageTokens = tokens.filter(isStage);
  const unknown = tokens.filter((t) => !configurationTokens.includes(t) && !suiteTokens.includes(t) && !isStage(t));
  if (unknown.length > 0) throw new UsageError(`--only: ${unknown.join(', ')} names no configuration, workload, executor, stage or suite`);
  const picksConfigurations = configurationTokens.length > 0;
  const picksSuites = suiteTokens.length > 0;
  const configurations = servingConfigurations.filter((c) =>
    picksConfigurations ? configurationTokens.some((t) => c.id === t || c.workload === t || c.executor === t) : !picksSuites,
  );
  const picked = new Set<Stage>(stageTokens.length > 0 ? stageTokens : stages);
  if (picked.has('latency')) picked.add('stepping');
  return {
    configurations,
    stages: picked,
    suites: suites.filter((s) => (picksSuites ? suiteTokens.includes(s.id) : !picksConfigurations && stageTokens.length === 0 && !quick)),
  };
}
