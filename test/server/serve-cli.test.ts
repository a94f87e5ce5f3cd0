/**
 * `sluice serve` as a user runs it (the compiled CLI: build dist first): help, every argument
 * error (exit 2 with the problem and the usage), and a real run that prints its URLs, answers
 * over REST and gRPC, and on SIGTERM answers the request in flight before exiting 0.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice, SluiceProcess } from '../support/cli.js';
import {
  eventually,
  metricValue,
  oipBody,
  onnxBytes,
  openInferenceClient,
  recommenderA,
  referenceScores,
  RestClient,
  tempRepository,
  writeVersion,
} from './support.js';

let repository: string;

beforeAll(async () => {
  repository = await tempRepository();
  await writeVersion(repository, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
});

afterAll(async () => {
  await rm(repository, { recursive: true, force: true });
});

describe('arguments', () => {
  it('prints its usage for --help', async () => {
    const result = await sluice(['serve', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: sluice serve --models <dir> \[options\]\n/);
    for (const flag of [
      '--http-port',
      '--grpc-port',
      '--host',
      '--max-batch-size',
      '--batch-delay',
      '--max-queue',
      '--max-request-size',
      '--versions',
      '--seldon-model',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });

  const cases: [string, string[], string][] = [
    ['no --models', [], 'sluice serve: --models <dir> is required: the model repository to serve'],
    ['an unknown flag', ['--models', '.', '--port', '80'], 'sluice serve: unknown option --port'],
    ['a flag without its value', ['--models'], 'sluice serve: option --models needs a value'],
    ['a positional argument', ['models/'], 'sluice serve: unexpected argument "models/": the repository is given with --models <dir>'],
    ['a directory that does not exist', ['--models', '/nonexistent/models'], 'sluice serve: model repository: /nonexistent/models is not a directory'],
    ['a port out of range', ['--models', '.', '--http-port', '70000'], 'sluice serve: --http-port must be at most 65535, got 70000'],
    ['a port that is not a number', ['--models', '.', '--grpc-port', 'high'], 'sluice serve: --grpc-port expected an integer, got "high"'],
    [
      'a batch delay without a unit it knows',
      ['--models', '.', '--batch-delay', '5 fortnights'],
      'sluice serve: --batch-delay expected a duration such as 500ms or 10s, got "5 fortnights"',
    ],
    ['a zero batch size', ['--models', '.', '--max-batch-size', '0'], 'sluice serve: --max-batch-size must be at least 1, got 0'],
    ['a bad log format', ['--models', '.', '--log-format', 'xml'], 'sluice serve: --log-format must be pretty or json, got "xml"'],
  ];

  it.each(cases)('exits 2 for %s', async (_what, args, message) => {
    const result = await sluice(['serve', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.startsWith(`${message}\n\nusage: sluice serve --models <dir>`)).toBe(true);
  });
});

describe('a real run', () => {
  it('serves over REST and gRPC, and on SIGTERM answers the request in flight, then exits 0', async () => {
    const args = ['serve', '--models', repository, '--http-port', '0', '--grpc-port', '0', '--batch-delay', '60s', '--log-format', 'json'];
    const serve = new SluiceProcess(args);
    let client: RestClient | undefined;
    try {
      const [, http, grpcAddress] = await serve.waitFor(
        /REST and \/metrics at (http:\/\/127\.0\.0\.1:\d+), gRPC at (127\.0\.0\.1:\d+) \(Ctrl-C stops\)/,
        'stderr',
      );
      client = new RestClient(http as string);
      expect((await client.get('/v2/health/ready')).json()).toEqual({ ready: true });
      const grpc = openInferenceClient(grpcAddress as string);
      expect(await grpc.call('ModelReady', { name: 'recommender' })).toEqual({ ready: true });
      grpc.close();

      const inFlight = client.post('/v2/models/recommender/infer', oipBody([5, 6], [7, 8]));
      const metrics = client;
      await eventually(async () => expect(metricValue((await metrics.get('/metrics')).text, 'sluice_server_queue_depth', { model: 'recommender' })).toBe(1));
      serve.child.kill('SIGTERM');
      const answered = await inFlight;
      expect(answered.status).toBe(200);
      const expected = await referenceScores(recommenderA, [5, 6], [7, 8]);
      answered.json().outputs[0].data.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i] as number, 6));

      const finished = await serve.finished(30_000);
      expect(finished.code).toBe(0);
      expect(finished.stderr).toContain('sluice serve: SIGTERM received, answering in-flight requests\n');
      expect(finished.stderr).toMatch(/sluice serve: stopped\n$/);
      expect(finished.stderr).toContain('"msg":"model version unloaded"');
    } finally {
      await client?.close();
      if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
    }
  });

  it('exits 1 when its port is taken', async () => {
    const first = new SluiceProcess(['serve', '--models', join(repository), '--http-port', '0', '--grpc-port', '0']);
    try {
      const [, port] = await first.waitFor(/at http:\/\/127\.0\.0\.1:(\d+),/, 'stderr');
      const second = await sluice(['serve', '--models', repository, '--http-port', port as string, '--grpc-port', '0', '--quiet']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/^sluice serve: the server failed on start: listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+\n$/);
    } finally {
      first.child.kill('SIGTERM');
      await first.finished(30_000);
    }
  });
});
