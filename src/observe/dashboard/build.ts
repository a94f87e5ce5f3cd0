/**
 * Bundles the dashboard's browser client (`client/*.ts`, uPlot and its CSS, dagre) with esbuild
 * into one script and one stylesheet: nothing is loaded from the internet at run time.
 *
 *   node dist/src/observe/dashboard/build.js [outdir]     (run by `npm run build`)
 *
 * writes `app.js` and `app.css` to `outdir`, by default `assets/` beside this module, where the
 * server reads them. esbuild is a dev dependency: only building needs it.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { packageRoot } from '../../util/package-root.js';

export interface DashboardAssets {
  readonly js: string;
  readonly css: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The client's entry: beside this module when it runs from `src`, under the package root when it runs from `dist`. */
function clientEntry(): string {
  const beside = join(here, 'client', 'main.ts');
  return existsSync(beside) ? beside : join(packageRoot(), 'src', 'observe', 'dashboard', 'client', 'main.ts');
}

/** Bundles the client in memory. */
export async function bundleDashboard(): Promise<DashboardAssets> {
  const result = await build({
    entryPoints: { app: clientEntry() },
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    charset: 'utf8',
    legalComments: 'none',
    outdir: 'out',
    write: false,
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text;
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text;
  if (js === undefined || css === undefined) throw new Error('esbuild wrote no app.js or app.css for the dashboard');
  return { js, css };
}

/** Bundles the client into `outdir` (`app.js`, `app.css`); returns the sizes, plain and gzipped. */
export async function writeDashboard(outdir = join(here, 'assets')): Promise<{ file: string; bytes: number; gzip: number }[]> {
  const assets = await bundleDashboard();
  await mkdir(outdir, { recursive: true });
  const files = [
    { file: join(outdir, 'app.js'), text: assets.js },
    { file: join(outdir, 'app.css'), text: assets.css },
  ];
  await Promise.all(files.map((f) => writeFile(f.file, f.text)));
  return files.map((f) => ({ file: f.file, bytes: Buffer.byteLength(f.text), gzip: gzipSync(f.text).length }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  for (const { file, bytes, gzip } of await writeDashboard(process.argv[2] ? resolve(process.argv[2]) : undefined)) {
    process.stdout.write(`dashboard: ${file} ${(bytes / 1024).toFixed(1)} KiB (${(gzip / 1024).toFixed(1)} KiB gzip)\n`);
  }
}
