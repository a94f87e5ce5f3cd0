/**
 * Measures the TF.js executor on each backend: rows/s through `infer` at batch 512, for the
 * recommender example's TF.js model and a small dense net (784→32→32→10). Not a test (timings
 * never go in tests); the numbers chose the executor's default backend (see its header).
 *
 *   npx tsx test/serving/tfjs/measure-backends.ts [seconds per row, default 3]
 */
import * as tf from '@tensorflow/tfjs';
import { buildRecommenderTfjs } from '../../../examples/recommender/models/build-tfjs.js';
import { createTfjsExecutor, saveTfjsArchive, tfjsBackends } from '../../../src/serving/executors/tfjs/index.js';
import { tensor, type NamedTensors } from '../../../src/serving/tensor.js';
import { seededRandom } from '../../../src/util/random.js';
import { descriptor } from './fixtures.js';

const seconds = Number(process.argv[2] ?? 3);
const batch = 512;

async function denseNet(): Promise<Uint8Array> {
  await tf.ready();
  const model = tf.sequential({
    name: 'dense_bench',
    layers: [
      tf.layers.dense({ inputShape: [784], units: 32, activation: 'relu', name: 'hidden1' }),
      tf.layers.dense({ units: 32, activation: 'relu', name: 'hidden2' }),
      tf.layers.dense({ units: 10, activation: 'softmax', name: 'classes' }),
    ],
  });
  try {
    return await saveTfjsArchive(model);
  } finally {
    model.dispose();
  }
}

const random = seededRandom(42);
const models: { name: string; bytes: Uint8Array; inputs: NamedTensors }[] = [
  {
    name: 'recommender',
    bytes: await buildRecommenderTfjs(),
    inputs: {
      users: tensor(
        'float32',
        [batch, 1],
        Float32Array.from({ length: batch }, () => Math.floor(random() * 1000)),
      ),
      products: tensor(
        'float32',
        [batch, 1],
        Float32Array.from({ length: batch }, () => Math.floor(random() * 300)),
      ),
    },
  },
  {
    name: 'dense 784-32-32-10',
    bytes: await denseNet(),
    inputs: { hidden1_input: tensor('float32', [batch, 784], Float32Array.from({ length: batch * 784 }, random)) },
  },
];

for (const { name, bytes, inputs } of models) {
  for (const backend of tfjsBackends) {
    const model = await createTfjsExecutor({ backend }).load(descriptor(name, bytes));
    for (let i = 0; i < 50; i++) await model.infer(inputs);
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    let calls = 0;
    while (performance.now() - start < seconds * 1000) {
      await model.infer(inputs);
      calls++;
    }
    const wall = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const rows = calls * batch;
    console.log(
      `${name.padEnd(20)} ${backend.padEnd(5)} batch ${batch}: ${Math.round(rows / wall).toLocaleString('en')} rows/s, ` +
        `${Math.round(rows / ((cpu.user + cpu.system) / 1e6)).toLocaleString('en')} rows/CPU-s, ${((wall / calls) * 1000).toFixed(2)} ms/call`,
    );
    await model.unload();
  }
}
