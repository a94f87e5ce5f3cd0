/**
 * The recommender example scoring through `sluice serve`, as a user runs it with the compiled
 * CLI (build dist first): the repository laid out from the example's built models, `sluice
 * serve` started on free ports, and `sluice run` of recommender-serve.conf pointed at it over
 * Open Inference gRPC, then TensorFlow Serving REST. Scored results arrive, with the scores the
 * served model gives.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layoutRepository } from '../../examples/recommender/serve/layout-repository.js';
import { referenceScores, recommenderA, tempRepository } from '../server/support.js';
import { SluiceProcess, until } from '../support/cli.js';
import { tempDir } from '../support/recommender.js';

const blueprint = 'examples/recommender/recommender-serve.conf';
const scoredLine = /^user=(\d+) model=recommender-served products=\d+ top=\[([^\]]*)\] [\d.]+ms$/gm;

let repository: string;
let server: SluiceProcess;
let urls: { http: string; grpc: string };

beforeAll(async () => {
  repository = await tempRepository();
  await layoutRepository(repository);
  server = new SluiceProcess(['serve', '--models', repository, '--http-port', '0', '--grpc-port', '0', '--log-format', 'json']);
  const [, http, grpc] = await server.waitFor(/REST and \/metrics at (http:\/\/[\d.:]+), gRPC at ([\d.:]+)/, 'stderr');
  urls = { http: http as string, grpc: grpc as string };
});

afterAll(async () => {
  server.child.kill('SIGTERM');
  expect((await server.finished()).code).toBe(0);
  await rm(repository, { recursive: true, force: true });
});

/** Runs the blueprint until `count` results were scored by the served model; returns them as [user, product, score] triples of each line's top products. */
async function runUntilScored(count: number, overrides: readonly string[]): Promise<{ app: SluiceProcess; top: [number, number, string][] }> {
  const app = new SluiceProcess([
    'run',
    blueprint,
    'sluice.http.port=0',
    `sluice.state-directory=${tempDir()}`,
    'data-ingress.records-per-second=500',
    ...overrides,
  ]);
  try {
    await until(() => [...app.stdout.matchAll(scoredLine)].length >= count, 45_000);
    const state = (await (await fetch(`${await app.url()}/model-serving/state`)).json()) as { name: string; modelType: string };
    expect(state).toMatchObject({ name: 'recommender-served' });
  } finally {
    app.child.kill('SIGTERM');
  }
  expect((await app.finished()).code).toBe(0);
  const lines = app.stdout.trim().split('\n');
  // Every line is a scored result, or a record that arrived before the descriptor (the stream does not wait for it).
  expect(lines.filter((l) => !l.includes('model=recommender-served')).every((l) => l.includes('error="No model server defined"'))).toBe(true);
  const top = [...app.stdout.matchAll(scoredLine)].flatMap((m) =>
    (m[2] as string).split(' ').map((entry) => {
      const [product, score] = entry.split(':') as [string, string];
      return [Number(m[1]), Number(product), score] as [number, number, string];
    }),
  );
  return { app, top };
}

/** The printed scores (3 decimals) are what recommender-a, the repository's `recommender`, gives. */
async function expectServedScores(top: readonly [number, number, string][]): Promise<void> {
  const sample = top.slice(0, 200);
  const scores = await referenceScores(
    recommenderA,
    sample.map(([user]) => user),
    sample.map(([, product]) => product),
  );
  expect(sample.map(([, , printed]) => printed)).toEqual(scores.map((s) => s.toFixed(3)));
}

describe('the recommender example through sluice serve', () => {
  it('scores over Open Inference gRPC (the blueprint’s default protocol)', async () => {
    const { top, app } = await runUntilScored(300, [`model-ingress.location=grpc://${urls.grpc}/recommender`]);
    expect(app.stderr).toMatch(/"msg":"published the served model"/);
    await expectServedScores(top);
  });

  it('scores over TensorFlow Serving REST, chosen by config', async () => {
    const { top } = await runUntilScored(100, [`model-ingress.location=${urls.http}/recommender`, 'model-ingress.model-type=TENSORFLOW_SERVING']);
    await expectServedScores(top);
  });

  it('stops at a wrong location, naming what is wrong in it', async () => {
    const app = new SluiceProcess([
      'run',
      blueprint,
      'sluice.http.port=0',
      `sluice.state-directory=${tempDir()}`,
      'model-ingress.location=ftp://127.0.0.1/recommender',
    ]);
    const done = await app.finished();
    expect(done.code).toBe(1);
    expect(done.stderr).toContain(
      "modelSourceLocation 'ftp://127.0.0.1/recommender': scheme 'ftp' is not supported for OPEN_INFERENCE: use http:// or grpc://",
    );
  });

  it('refuses a model type that is not a model server’s, naming the key', async () => {
    const app = new SluiceProcess(['run', blueprint, 'sluice.http.port=0', `sluice.state-directory=${tempDir()}`, 'model-ingress.model-type=ONNX']);
    const done = await app.finished();
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/model-ingress.*model-type.*expected one of OPEN_INFERENCE, TENSORFLOW_SERVING, SELDON, got "ONNX"/);
  });
});
