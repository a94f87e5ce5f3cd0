/**
 * Profiles a configuration's pipeline flat out, in the timed window only (V8 sampling profiler
 * through node:inspector, started and stopped as the window opens and closes), and prints the
 * hot spots by self and total time, by function and by source line, mapped back to the
 * TypeScript sources.
 *
 *   npx tsx bench/profile.ts [--configuration=recommender-onnx] [--batch-size=512] [--seconds=3] [--interval=200] [--top=30]
 *
 * Run through tsx, it first compiles src/, examples/ and bench/ with tsc (bench/tsconfig.json,
 * into bench/results/build) and runs the compiled copy: tsx's output puts a whole module on
 * one line, which would leave line-level ticks meaningless. The raw profile goes to
 * bench/results/<configuration>-<batch-size>.cpuprofile (Chrome DevTools → Performance → Load).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageRoot } from '../src/util/package-root.js';
import { servingConfigurations } from './configurations.js';

interface CallFrame {
  readonly functionName: string;
  readonly scriptId: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
  readonly positionTicks?: readonly { readonly line: number; readonly ticks: number }[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

const root = packageRoot();
const results = join(root, 'bench', 'results');

function option(name: string, fallback: number): number {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  const value = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

async function main(): Promise<void> {
  const batchSize = option('batch-size', 512);
  const seconds = option('seconds', 3);
  const interval = option('interval', 200);
  const top = option('top', 30);
  const id = process.argv.find((a) => a.startsWith('--configuration='))?.slice('--configuration='.length) ?? 'recommender-onnx';
  const configuration = servingConfigurations.find((c) => c.id === id);
  if (!configuration) throw new Error(`--configuration: no ${id} (there are ${servingConfigurations.map((c) => c.id).join(', ')})`);
  const workload = configuration.buildWorkload();
  const makeModel = workload.models[configuration.executor];
  if (!makeModel) throw new Error(`${id} has no model`);

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval });
  let stopped: Promise<{ profile: Profile }> | undefined;
  const pipeline = await configuration.start({ workload, model: await makeModel(), batchSize, batchWait: 0 });
  let result;
  try {
    result = await pipeline.flatOut({
      seconds,
      warmupSeconds: 1,
      drain: false,
      onWindowStart: () => void session.post('Profiler.start'),
      onWindowEnd: () => {
        stopped = session.post('Profiler.stop') as Promise<{ profile: Profile }>;
      },
    });
  } finally {
    await pipeline.stop();
  }
  if (!stopped) throw new Error('the profiler was not stopped');
  const { profile } = await stopped;
  const file = join(results, `${id}-${batchSize}.cpuprofile`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(profile));

  const locate = await sourceLocator(session, profile);
  session.disconnect();

  console.log(
    `${id}, batch-size ${batchSize}: ${Math.round(result.records / result.seconds).toLocaleString('en-US')} records/s while profiled ` +
      `(${result.records.toLocaleString('en-US')} records, ${result.meanBatch.toFixed(1)} per model call); profile: ${relative(process.cwd(), file)}\n`,
  );
  report(profile, locate, top);
}

/** Where a generated position (0-based line and column) of a script is in its TypeScript source. */
type Locator = (frame: { scriptId: string; url: string }, line: number, column: number | undefined) => string;

async function sourceLocator(session: Session, profile: Profile): Promise<Locator> {
  const wanted = new Set(profile.nodes.map((n) => n.callFrame.scriptId));
  const maps = new Map<string, { map: SourceMap | undefined; mapUrl: string; lines: string[] }>();
  const parsed: { scriptId: string; url: string; sourceMapURL?: string }[] = [];
  session.on('Debugger.scriptParsed', (message) => parsed.push(message.params));
  await session.post('Debugger.enable');
  for (const script of parsed) {
    if (!wanted.has(script.scriptId)) continue;
    const url = script.sourceMapURL ?? '';
    let map: SourceMap | undefined;
    let mapUrl = script.url;
    try {
      if (url.startsWith('data:')) {
        const json = Buffer.from(url.slice(url.indexOf(',') + 1), url.includes(';base64,') ? 'base64' : 'utf8').toString('utf8');
        map = new SourceMap(JSON.parse(json) as ConstructorParameters<typeof SourceMap>[0]);
      } else if (url !== '' && script.url.startsWith('file:')) {
        mapUrl = new URL(url, script.url).href;
        map = new SourceMap(JSON.parse(await readFile(fileURLToPath(mapUrl), 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
      }
    } catch {
      map = undefined;
    }
    const { scriptSource } = await session.post('Debugger.getScriptSource', { scriptId: script.scriptId });
    maps.set(script.scriptId, { map, mapUrl, lines: scriptSource.split('\n') });
  }
  await session.post('Debugger.disable');

  return (frame, line, column) => {
    const shown = shortUrl(frame.url);
    const script = maps.get(frame.scriptId);
    if (!script?.map) return `${shown}:${line + 1}`;
    // A line tick has no column: take the line's first code character.
    const col = column ?? Math.max(0, (script.lines[line] ?? '').search(/\S/));
    const entry = script.map.findEntry(line, col) as { originalSource?: string; originalLine?: number };
    if (entry.originalSource === undefined || entry.originalLine === undefined) return `${shown}:${line + 1}`;
    const sourceUrl = /^[a-z]+:/i.test(entry.originalSource) ? entry.originalSource : new URL(entry.originalSource, script.mapUrl).href;
    const source = sourceUrl.startsWith('file:') ? fileURLToPath(sourceUrl) : sourceUrl;
    return `${relative(root, source)}:${entry.originalLine + 1}`;
  };
}

function shortUrl(url: string): string {
  if (url === '') return '(eval)';
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) return path.slice(modules + 'node_modules/'.length);
  return path.startsWith(root) ? relative(root, path) : path;
}

/** What a frame belongs to, for the summary by area. */
function area(frame: CallFrame): string {
  const url = frame.url;
  if (url === '' && frame.functionName.startsWith('(')) return frame.functionName;
  // Code from `new Function`: in this pipeline, the codecs avsc generates per schema.
  if (url === '') return frame.scriptId === '0' ? '(native: C++ bindings, V8 builtins)' : "eval'd code (avsc's generated codecs)";
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('node_modules/');
  const build = join(results, 'build') + '/';
  if (path.startsWith(build)) return path.slice(build.length).replace(/\.js$/, '.ts');
  if (modules >= 0) {
    const rest = path.slice(modules + 'node_modules/'.length).split('/');
    return `npm ${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  return relative(root, path);
}

function report(profile: Profile, locate: Locator, top: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Self time per node from the samples (µs).
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    // A sample's time is the gap to the next one.
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;

  const fnKey = (f: CallFrame) => `${f.functionName || '(anonymous)'}\t${f.scriptId}\t${f.url}\t${f.lineNumber}\t${f.columnNumber}`;
  const fnSelf = new Map<string, { frame: CallFrame; us: number }>();
  const fnTotal = new Map<string, number>();
  const areas = new Map<string, number>();
  const lines = new Map<string, { us: number; fn: string }>();
  // Self time of a function split by the function that called it.
  const callers = new Map<string, Map<string, number>>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const key = fnKey(node.callFrame);
    const entry = fnSelf.get(key) ?? { frame: node.callFrame, us: 0 };
    entry.us += us;
    fnSelf.set(key, entry);
    areas.set(area(node.callFrame), (areas.get(area(node.callFrame)) ?? 0) + us);
    const caller = byId.get(parent.get(id) ?? -1)?.callFrame;
    if (caller) {
      const split = callers.get(key) ?? new Map<string, number>();
      const callerKey = fnKey(caller);
      split.set(callerKey, (split.get(callerKey) ?? 0) + us);
      callers.set(key, split);
    }
    // Inclusive: every distinct function on the stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      const k = fnKey(frame);
      if (!seen.has(k)) {
        seen.add(k);
        fnTotal.set(k, (fnTotal.get(k) ?? 0) + us);
      }
    }
    // Line-level self time, spread over the node's line ticks.
    const ticks = node.positionTicks ?? [];
    const tickSum = ticks.reduce((a, t) => a + t.ticks, 0);
    for (const t of ticks) {
      const where = locate(node.callFrame, t.line - 1, undefined);
      const line = lines.get(where) ?? { us: 0, fn: node.callFrame.functionName || '(anonymous)' };
      line.us += (us * t.ticks) / tickSum;
      lines.set(where, line);
    }
  }

  const name = (f: CallFrame) => f.functionName || '(anonymous)';
  const at = (f: CallFrame) =>
    f.url === '' ? (f.scriptId === '0' || f.functionName.startsWith('(') ? '' : '(eval: avsc codec)') : locate(f, f.lineNumber, f.columnNumber);

  console.log(`By area (self time, ${(total / 1000).toFixed(0)} ms sampled):`);
  for (const [where, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 16)) console.log(`  ${pct(us)}  ${where}`);

  console.log(`\nTop ${top} functions by self time:`);
  for (const { frame, us } of [...fnSelf.values()].sort((a, b) => b.us - a.us).slice(0, top)) {
    const key = fnKey(frame);
    console.log(`  ${pct(us)} self ${pct(fnTotal.get(key) ?? 0)} total  ${name(frame).padEnd(32)} ${at(frame)}`);
  }

  console.log('\nWho calls the top 10 (share of their self time by caller):');
  for (const { frame } of [...fnSelf.values()]
    .filter((f) => f.frame.functionName !== '(garbage collector)')
    .sort((a, b) => b.us - a.us)
    .slice(0, 10)) {
    const split = [...(callers.get(fnKey(frame)) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1]);
    const sum = split.reduce((a, [, us]) => a + us, 0);
    const shown = split.slice(0, 3).map(([k, us]) => {
      const f = frameOf(k);
      return `${name(f)} ${at(f)} ${((100 * us) / sum).toFixed(0)}%`;
    });
    console.log(`  ${name(frame)} ${at(frame)}`.trimEnd() + ` ← ${shown.join('; ')}`);
  }

  console.log(`\nTop ${top} source lines by self time:`);
  for (const [where, { us, fn }] of [...lines]
    .filter(([where]) => !where.startsWith('(eval)'))
    .sort((a, b) => b[1].us - a[1].us)
    .slice(0, top))
    console.log(`  ${pct(us)}  ${where.padEnd(52)} in ${fn}`);

  console.log(`\nTop ${top} Sluice functions by total (inclusive) time:`);
  const ours = [...fnSelf.values(), ...[...fnTotal.keys()].filter((k) => !fnSelf.has(k)).map((k) => ({ frame: frameOf(k), us: 0 }))].filter(
    ({ frame }) => /\/(src|examples|bench)\//.test(frame.url) && !frame.url.includes('node_modules'),
  );
  const uniq = new Map(ours.map((o) => [fnKey(o.frame), o.frame]));
  for (const [key, frame] of [...uniq].sort((a, b) => (fnTotal.get(b[0]) ?? 0) - (fnTotal.get(a[0]) ?? 0)).slice(0, top)) {
    console.log(`  ${pct(fnTotal.get(key) ?? 0)} total  ${name(frame).padEnd(32)} ${at(frame)}`);
  }
}

function frameOf(key: string): CallFrame {
  const [functionName = '', scriptId = '', url = '', line = '0', column = '0'] = key.split('\t');
  return { functionName: functionName === '(anonymous)' ? '' : functionName, scriptId, url, lineNumber: Number(line), columnNumber: Number(column) };
}

if (import.meta.url.endsWith('.ts')) {
  // Under tsx: compile (type errors elsewhere do not stop the emit), then run the compiled copy.
  const build = join(results, 'build');
  console.log('compiling src/, examples/ and bench/ with tsc into bench/results/build ...');
  spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'bench', 'tsconfig.json')], { stdio: 'inherit' });
  const compiled = join(build, 'bench', 'profile.js');
  if (!existsSync(compiled)) throw new Error(`tsc did not write ${compiled}`);
  const run = spawnSync(process.execPath, [compiled, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} else {
  await main();
}
