/**
 * Lays out a `sluice serve` model repository from the recommender example's built models
 * (examples/recommender/models/, `npm run models`):
 *
 *   <dir>/recommender/1/model.onnx       recommender-a
 *   <dir>/recommender-b/1/model.onnx     recommender-b, the candidate of the A/B test
 *   <dir>/recommender-ab/1/graph.conf    an A/B test of the two (./recommender-ab.conf)
 *
 * Rolling recommender-b out as the new version of `recommender` is one more folder:
 * `<dir>/recommender/2/model.onnx`.
 *
 *   node dist/examples/recommender/serve/layout-repository.js /tmp/models
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../../src/util/package-root.js';

const example = join(packageRoot(), 'examples', 'recommender');

/** Copies the models and the graph into `directory`; returns the files written. */
export async function layoutRepository(directory: string, models = join(example, 'models')): Promise<string[]> {
  const files: [from: string, model: string, file: string][] = [
    [join(models, 'recommender-a.onnx'), 'recommender', 'model.onnx'],
    [join(models, 'recommender-b.onnx'), 'recommender-b', 'model.onnx'],
    [join(example, 'serve', 'recommender-ab.conf'), 'recommender-ab', 'graph.conf'],
  ];
  const written: string[] = [];
  for (const [from, model, file] of files) {
    const folder = join(directory, model, '1');
    await mkdir(folder, { recursive: true });
    await copyFile(from, join(folder, file));
    written.push(join(folder, file));
  }
  return written;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const directory = process.argv[2];
  if (!directory) {
    process.stderr.write('usage: layout-repository <dir>\n');
    process.exitCode = 2;
  } else {
    for (const file of await layoutRepository(resolve(directory))) process.stdout.write(`${file}\n`);
  }
}
