/**
 * The JetStream runtime's benchmark, bench/nats.ts (its own script, by the runtime's authors):
 * raw JetStream consume → publish → ack beside Sluice moving the same records, and the
 * recommender's model serving with 1, 2 and 4 replica processes. It runs as a child process
 * (it is a script, and its replicas are `sluice run` processes of the built CLI); this suite
 * reads the markdown tables it prints.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';
import type { Suite } from '../configurations.js';
import type { Table } from '../report/table.js';

const script = join(packageRoot(), 'bench', 'nats.ts');
const url = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** The markdown tables of `output`, each with the line before it as its title. */
export function markdownTables(output: string): Table[] {
  const tables: Table[] = [];
  const lines = output.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('|') || !/^\| ?:?---/.test(lines[i + 1] ?? '')) continue;
    const cells = (line: string) =>
      line
        .slice(1, line.lastIndexOf('|'))
        .split('|')
        .map((c) => c.trim());
    const header = cells(lines[i] as string);
    const rows: string[][] = [];
    let j = i + 2;
    for (; lines[j]?.startsWith('|'); j++) rows.push(cells(lines[j] as string));
    const before = lines
      .slice(0, i)
      .reverse()
      .find((l) => l.trim() !== '' && !l.startsWith('|'));
    tables.push({ title: `JetStream runtime${before ? ` (${before.trim().replace(/:$/, '')})` : ''}:`, header, rows });
    i = j - 1;
  }
  return tables;
}

export const natsSuite: Suite = {
  id: 'nats',
  label: 'JetStream runtime: raw JetStream beside Sluice, model serving with 1, 2 and 4 replicas',
  async unavailable() {
    if (!existsSync(script)) return `${script} is not there`;
    if (!existsSync(join(packageRoot(), 'dist', 'src', 'cli', 'main.js'))) return 'its replicas run the built CLI: npx tsc -p tsconfig.build.json first';
    if (!(await reachable(url.hostname, Number(url.port || 4222)))) return `no NATS server at ${url.host}`;
    return undefined;
  },
  async run({ quick, progress }) {
    const args = quick ? ['--records=20000', '--rate=2000'] : ['--records=100000', '--rate=4000'];
    const line = progress.step(`nats: bench/nats.ts ${args.join(' ')}`);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const last = stdout.trimEnd().split('\n').at(-1);
        if (last) line.update(last.slice(0, 100));
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`bench/nats.ts exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`)),
      );
    });
    const tables = markdownTables(output);
    const replicaTable = tables.find((t) => /replicas/i.test(t.header[0] ?? ''));
    const replicas = (replicaTable?.rows ?? []).map((row) => ({
      series: 'JetStream, recommender model-serving (ONNX)',
      replicas: Number(row[0]),
      recordsPerSecond: Number((row[1] ?? '').replaceAll(',', '')),
    }));
    line.done(
      `${tables.length} tables${replicas.length > 0 ? `; replicas: ${replicas.map((r) => `${r.replicas} → ${Math.round(r.recordsPerSecond)}/s`).join(', ')}` : ''}`,
    );
    return { tables, replicas, data: { args, output } };
  },
};
