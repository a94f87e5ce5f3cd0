/**
 * `npm run bench` (and `sluice bench`): the Crayfish-style harness over every serving
 * configuration (bench/configurations.ts), then the suites present (JetStream runtime, external
 * serving, connectors). Prints ratio tables, writes bench/results/latest.json and .md, and
 * renders the plots; a full run of everything also publishes them in docs/benchmarks.md and
 * docs/benchmarks/.
 *
 *   npx tsx bench/run.ts [--quick] [--only=<token>,...] [--rounds=N] [--json=PATH|--no-json] [--publish|--no-publish]
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { packageRoot } from '../src/util/package-root.js';
import type { ServingConfiguration } from './configurations.js';
import { fullTiming, measureConfiguration, quickTiming, type ConfigurationResult } from './measure.js';
import { parseArgs, RESULTS, select, usage, UsageError, type Args, type Selection } from './options.js';
import { currentLoad, describeMachine, machine } from './report/machine.js';
import { writePlots, type ReplicaPoint } from './report/plots.js';
import { Progress } from './report/progress.js';
import { allTables, resultsMarkdown, type RunResult } from './report/results.js';
import { textTable } from './report/table.js';

const root = packageRoot();
const DOCS = join(root, 'docs', 'benchmarks.md');
const DOCS_PLOTS = join(root, 'docs', 'benchmarks');
const START_MARK = '<!-- bench:results:start -->';
const END_MARK = '<!-- bench:results:end -->';

/**
 * A full garbage collection, run before every measurement so that each starts from the same clean
 * heap instead of inheriting the previous one's garbage. The flag set at run time exposes `gc`
 * to a new context (the bench runs without `--expose-gc`).
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * Measures one configuration in a process of its own (this script with `--child`), so that no
 * configuration inherits another's heap or JIT state. In one process, validating the
 * recommender's arrays first made V8 turn the FFNN's 784-float arrays into arrays of boxed
 * numbers (avsc's array check is one function for every array type; optimized for several
 * element kinds, it generalises the arrays it reads), and the FFNN pipeline ran 5–8× slower.
 */
async function measureInOwnProcess(configuration: ServingConfiguration, args: Args, selection: Selection, progress: Progress): Promise<ConfigurationResult> {
  const file = join(tmpdir(), `sluice-bench-${process.pid}-${configuration.id}.json`);
  const argv = [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    `--only=${[configuration.id, ...selection.stages].join(',')}`,
    ...(args.quick ? ['--quick'] : []),
    ...(args.rounds === undefined ? [] : [`--rounds=${args.rounds}`]),
    `--child=${file}`,
    `--clock=${Math.round(progress.elapsedMs())}`,
  ];
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, argv, { cwd: root, stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`the process measuring it exited with ${code}`);
    return JSON.parse(await readFile(file, 'utf8')) as ConfigurationResult;
  } finally {
    await rm(file, { force: true });
  }
}

/** The child's side: measure the one configuration, write its result for the parent. */
async function measureAsChild(args: Args, selection: Selection, child: NonNullable<Args['child']>): Promise<number> {
  const [configuration] = selection.configurations;
  if (!configuration || selection.configurations.length !== 1) throw new Error('--child measures exactly one configuration');
  const timing = { ...(args.quick ? quickTiming : fullTiming), ...(args.rounds === undefined ? {} : { rounds: args.rounds }) };
  const progress = new Progress(child.clockMs);
  const result = await measureConfiguration(configuration, { timing, stages: selection.stages, progress, collectGarbage, loadavg: currentLoad });
  await writeFile(child.file, JSON.stringify(result, finiteOrNull));
  return 0;
}

/** JSON has no NaN or Infinity: what was not measured is written as null. */
function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

/** Replaces the results section of docs/benchmarks.md (between its markers). */
async function publishMarkdown(section: string): Promise<void> {
  const document = await readFile(DOCS, 'utf8');
  const start = document.indexOf(START_MARK);
  const end = document.indexOf(END_MARK);
  if (start < 0 || end < start) throw new Error(`${DOCS} has no ${START_MARK} … ${END_MARK} section to fill`);
  await writeFile(DOCS, `${document.slice(0, start + START_MARK.length)}\n${section}\n${document.slice(end)}`);
}

async function main(): Promise<number> {
  let args: Args | 'help';
  let selection: Selection;
  try {
    args = parseArgs(process.argv.slice(2));
    if (args === 'help') {
      console.log(usage);
      return 0;
    }
    selection = select(args.only, args.quick);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message}\n\n${usage}`);
    return 2;
  }
  if (args.child) return measureAsChild(args, selection, args.child);
  const publish = args.publish ?? (!args.quick && args.only === undefined);
  const started = new Date();
  const box = machine();
  const progress = new Progress();
  progress.note(`sluice bench${args.quick ? ' --quick' : ''}: ${describeMachine(box)}`);
  progress.note(
    `configurations: ${selection.configurations.map((c) => c.id).join(', ') || 'none'}; stages: ${[...selection.stages].join(', ')}; ` +
      `suites: ${selection.suites.map((s) => s.id).join(', ') || 'none'}`,
  );

  const configurations: ConfigurationResult[] = [];
  const failures: string[] = [];
  for (const configuration of selection.configurations) {
    try {
      configurations.push(await measureInOwnProcess(configuration, args, selection, progress));
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push(`${configuration.id}: ${message}`);
      progress.note(`  ${configuration.id} FAILED: ${message}`);
    }
  }
  const suiteResults: RunResult['suites'][number][] = [];
  const replicas: ReplicaPoint[] = [];
  for (const suite of selection.suites) {
    const skipped = await suite.unavailable();
    if (skipped !== undefined) {
      progress.note(`  ${suite.id}: not run (${skipped})`);
      suiteResults.push({ id: suite.id, label: suite.label, skipped });
      continue;
    }
    try {
      const result = await suite.run({ quick: args.quick, progress });
      replicas.push(...(result.replicas ?? []));
      suiteResults.push({ id: suite.id, label: suite.label, tables: result.tables, data: result.data });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      progress.note(`  ${suite.id} FAILED: ${error}`);
      suiteResults.push({ id: suite.id, label: suite.label, error });
    }
  }

  const finished = new Date();
  const run: RunResult = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
    quick: args.quick,
    ...(args.only ? { only: args.only } : {}),
    machine: box,
    loadavgAtEnd: currentLoad(),
    configurations,
    suites: suiteResults,
  };
  for (const table of allTables(run)) console.log(`\n${textTable(table)}`);

  const plotDirectory = publish ? DOCS_PLOTS : join(RESULTS, 'plots');
  const plots = await writePlots(plotDirectory, configurations, replicas);
  await mkdir(RESULTS, { recursive: true });
  const latest = join(RESULTS, 'latest.md');
  await writeFile(
    latest,
    resultsMarkdown(run, plots, (file) => relative(RESULTS, join(plotDirectory, file))),
  );
  if (publish) await publishMarkdown(resultsMarkdown(run, plots, (file) => relative(dirname(DOCS), join(plotDirectory, file))));
  if (args.json) {
    await mkdir(dirname(args.json), { recursive: true });
    await writeFile(args.json, `${JSON.stringify(run, finiteOrNull, 2)}\n`);
  }
  console.log(
    `\n${progress.clock()} done. ${[args.json && `results: ${relative(root, args.json)}`, `report: ${relative(root, latest)}`, plots.length > 0 && `plots: ${relative(root, plotDirectory)}/`, publish && `published in ${relative(root, DOCS)}`].filter(Boolean).join('; ')}`,
  );
  if (failures.length > 0) console.error(`\n${failures.length} configuration(s) failed:\n${failures.join('\n')}`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
