/**
 * Inference graphs in `sluice serve`: each node kind's output checked numerically against the
 * models called directly, an A/B split within binomial bounds, an epsilon-greedy router moving
 * its traffic to the route that earns rewards, every protocol serving a graph, and every kind
 * of invalid graph reported (file and node named) like an unloadable version.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/util/random.js';
import { startModelServer, type ModelServer } from '../../src/server/server.js';
import {
  eventually,
  metricValue,
  oipBody,
  onnxBytes,
  openInferenceClient,
  predictionClient,
  quietLog,
  rawFloats,
  floatsOf,
  recommenderA,
  recommenderB,
  referenceScores,
  RestClient,
  tempRepository,
  writeVersion,
} from './support.js';

const recommenderC = { ...recommenderA, name: 'recommender-c', seed: 3 };
const users = [17, 17, 512, 999, 0, 333];
const products = [5, 299, 42, 0, 150, 7];

/** Graphs served by every test, by name: file text of `<name>/1/graph.conf`. */
const graphs: Readonly<Record<string, string>> = {
  // Sorted before the models it calls: graphs load after models whatever their names.
  'a-shifted': `
    root = shift
    nodes {
      shift { type = transformer, steps = [{ op = rename, from = user, to = users }, { op = shift, tensor = users, by = 10 }], children = [a] }
      a { type = model, model = rec-a }
    }`,
  squashed: `
    root = out
    nodes {
      out {
        type = output-transformer
        children = [a]
        steps = [
          { op = scale, tensor = predictions, by = 2 }
          { op = shift, tensor = predictions, by = -0.5 }
          { op = clip, tensor = predictions, min = 0, max = 0.6 }
          { op = rename, from = predictions, to = score }
          { op = select, tensors = [score] }
        ]
      }
      a { type = model, model = rec-a }
    }`,
  // JSON is HOCON too.
  average: JSON.stringify({
    root: 'mean',
    nodes: {
      mean: { type: 'combiner', method: 'average', children: ['a', 'b'] },
      a: { type: 'model', model: 'rec-a' },
      b: { type: 'model', model: 'rec-b' },
    },
  }),
  vote: `
    root = majority
    nodes {
      majority { type = combiner, method = vote, children = [a, b, c] }
      a { type = output-transformer, steps = [{ op = threshold, tensor = predictions, at = 0.15 }], children = [ma] }
      b { type = output-transformer, steps = [{ op = threshold, tensor = predictions, at = 0.15 }], children = [mb] }
      c { type = output-transformer, steps = [{ op = threshold, tensor = predictions, at = 0.15 }], children = [mc] }
      ma { type = model, model = rec-a }
      mb { type = model, model = rec-b }
      mc { type = model, model = rec-c }
    }`,
  ab: `
    root = split
    nodes {
      split { type = router, method = weighted, weights = [0.8, 0.2], children = [a, b] }
      a { type = model, model = rec-a }
      b { type = model, model = rec-b }
    }`,
  'all-a': `
    root = split
    nodes {
      split { type = router, method = weighted, weights = [1, 0], children = [a, b] }
      a { type = model, model = rec-a }
      b { type = model, model = rec-b }
    }`,
  bandit: `
    root = greedy
    nodes {
      greedy { type = router, method = epsilon-greedy, epsilon = 0.1, seed = 7, children = [a, b] }
      a { type = model, model = rec-a }
      b { type = model, model = rec-b }
    }`,
};

/** Invalid graphs: file text, and what the reason must say. */
const invalid: readonly [name: string, text: string, reason: RegExp][] = [
  [
    'bad-child',
    `root = r\nnodes {\n  r { type = combiner, method = average, children = [a, nope] }\n  a { type = model, model = rec-a }\n}`,
    /node 'r' \(graph\.conf:3\): child 'nope' is not a node \(nodes: r, a\)/,
  ],
  [
    'cycle',
    `root = t\nnodes {\n  t { type = transformer, steps = [{ op = shift, tensor = users, by = 1 }], children = [u] }\n  u { type = transformer, steps = [{ op = shift, tensor = users, by = 1 }], children = [t] }\n}`,
    /node 't' \(graph\.conf:3\) is in a cycle: t -> u -> t/,
  ],
  [
    'missing-model',
    `root = a\nnodes {\n  a { type = model, model = rec-z }\n}`,
    /node 'a' \(graph\.conf:3\): model 'rec-z' is not in the repository \(models: /,
  ],
  [
    'bad-weights',
    `root = r\nnodes {\n  r { type = router, method = weighted, weights = [0.5], children = [a, b] }\n  a { type = model, model = rec-a }\n  b { type = model, model = rec-b }\n}`,
    /node 'r' \(graph\.conf:3\): 'weights' has 1 entries for 2 children/,
  ],
  [
    'negative-weights',
    `root = r\nnodes {\n  r { type = router, method = weighted, weights = [1, -1], children = [a, b] }\n  a { type = model, model = rec-a }\n  b { type = model, model = rec-b }\n}`,
    /'weights' must be a list of numbers >= 0, one per child/,
  ],
  [
    'unknown-type',
    `root = a\nnodes {\n  a { type = ensemble, model = rec-a }\n}`,
    /node 'a' \(graph\.conf:3\): 'type' must be one of model, transformer, output-transformer, combiner, router, got "ensemble"/,
  ],
  [
    'unknown-field',
    `root = a\nnodes {\n  a { type = model, model = rec-a, version = 2 }\n}`,
    /node 'a' \(graph\.conf:3\): unknown field 'version' for a model node/,
  ],
  [
    'unreachable',
    `root = a\nnodes {\n  a { type = model, model = rec-a }\n  b { type = model, model = rec-b }\n}`,
    /node 'b' \(graph\.conf:4\) is not reachable from root 'a'/,
  ],
  ['unknown-root', `root = x\nnodes {\n  a { type = model, model = rec-a }\n}`, /root 'x' \(graph\.conf:1\) is not a node \(nodes: a\)/],
  [
    'bad-step',
    `root = t\nnodes {\n  t { type = transformer, steps = [{ op = scale, tensor = user, by = 2 }], children = [a] }\n  a { type = model, model = rec-a }\n}`,
    /node 't' \(graph\.conf:3\): step 1 \(scale\) names 'user', which child 'a' does not take \(it takes 'users', 'products'\)/,
  ],
  [
    'unknown-op',
    `root = t\nnodes {\n  t { type = transformer, steps = [{ op = eval, code = "1+1" }], children = [a] }\n  a { type = model, model = rec-a }\n}`,
    /step 1: 'op' must be one of scale, shift, clip, threshold, rename, select, got "eval"/,
  ],
  [
    'different-outputs',
    `root = r\nnodes {\n  r { type = router, method = weighted, weights = [1, 1], children = [a, o] }\n  a { type = model, model = rec-a }\n  o { type = output-transformer, steps = [{ op = rename, from = predictions, to = score }], children = [b] }\n  b { type = model, model = rec-b }\n}`,
    /children give different outputs: 'a' \(predictions:float32\[\?,1\]\), 'o' \(score:float32\[\?,1\]\)/,
  ],
  [
    'nested',
    `root = g\nnodes {\n  g { type = model, model = average }\n}`,
    /'average' is an inference graph; a model node names a model \(graphs do not nest\)/,
  ],
  [
    'many-problems',
    `root = split\nnodes {\n  split { type = router, method = weighted, weights = [0.9], children = [a, b] }\n  a { type = model, model = rec-a }\n  b { type = model, model = rec-b, version = 2 }\n}`,
    /has 2 problem\(s\): node 'split' \(graph\.conf:3\): 'weights' has 1 entries for 2 children: give one per child, in order; node 'b' \(graph\.conf:5\): unknown field 'version' for a model node/,
  ],
  ['syntax', `root = a\nnodes {\n  a { type = model, model = rec-a \n`, /graph\.conf/],
];

let repository: string;
let server: ModelServer;
let rest: RestClient;

beforeAll(async () => {
  repository = await tempRepository();
  await writeVersion(repository, 'rec-a', 1, 'model.onnx', onnxBytes(recommenderA));
  await writeVersion(repository, 'rec-b', 1, 'model.onnx', onnxBytes(recommenderB));
  await writeVersion(repository, 'rec-c', 1, 'model.onnx', onnxBytes(recommenderC));
  for (const [name, text] of Object.entries(graphs)) await writeVersion(repository, name, 1, 'graph.conf', text);
  for (const [name, text] of invalid) await writeVersion(repository, name, 1, 'graph.conf', text);
  server = await startModelServer({ models: repository, httpPort: 0, grpcPort: 0, pollIntervalMs: 100, log: quietLog });
  rest = new RestClient(server.urls.http);
});

afterAll(async () => {
  await rest?.close();
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

/** Open Inference REST inference on a graph; the answer's outputs by name. */
async function infer(graph: string, inputs: Record<string, number[]>, id?: string): Promise<{ id: string | undefined; outputs: Record<string, number[]> }> {
  const body = {
    ...(id === undefined ? {} : { id }),
    inputs: Object.entries(inputs).map(([name, data]) => ({ name, shape: [data.length, 1], datatype: 'FP32', data })),
  };
  const reply = await rest.post(`/v2/models/${graph}/infer`, body);
  expect(reply.status, reply.text).toBe(200);
  const answer = reply.json();
  return { id: answer.id, outputs: Object.fromEntries(answer.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data])) };
}

describe('each node kind', () => {
  it('a transformer renames and shifts inputs before the model', async () => {
    // Users below 990: shifted by 10 they stay ids the model knows.
    const some = [17, 17, 512, 98, 0, 333];
    const { outputs } = await infer('a-shifted', { user: some, products });
    expect(outputs.predictions).toEqual(
      await referenceScores(
        recommenderA,
        some.map((u) => u + 10),
        products,
      ),
    );
    const metadata = (await rest.get('/v2/models/a-shifted')).json();
    expect(metadata).toMatchObject({ name: 'a-shifted', platform: 'inference_graph', versions: ['1'] });
    expect(metadata.inputs.map((i: { name: string }) => i.name)).toEqual(['user', 'products']);
  });

  it('an output transformer scales, shifts, clips, renames and selects the outputs', async () => {
    const { outputs } = await infer('squashed', { users, products });
    const expected = (await referenceScores(recommenderA, users, products)).map((s) =>
      Math.fround(Math.min(0.6, Math.max(0, Math.fround(Math.fround(s * 2) - 0.5)))),
    );
    expect(Object.keys(outputs)).toEqual(['score']);
    expect(outputs.score).toEqual(expected);
    // Some scores are clipped: the check is not vacuous.
    expect(expected).toContain(0);
  });

  it('an average combiner gives the mean of its models', async () => {
    const [a, b] = await Promise.all([referenceScores(recommenderA, users, products), referenceScores(recommenderB, users, products)]);
    const { outputs } = await infer('average', { users, products });
    expect(outputs.predictions).toEqual(a.map((x, i) => Math.fround((x + (b[i] as number)) / 2)));
  });

  it('a vote combiner gives the majority of its models’ labels', async () => {
    const many = Array.from({ length: 60 }, (_, i) => (i * 37) % 1000);
    const items = Array.from({ length: 60 }, (_, i) => (i * 11) % 300);
    const labels = await Promise.all(
      [recommenderA, recommenderB, recommenderC].map(async (m) => (await referenceScores(m, many, items)).map((s) => (s >= 0.15 ? 1 : 0))),
    );
    const expected = many.map((_, i) => (labels.reduce((sum, l) => sum + (l[i] as number), 0) >= 2 ? 1 : 0));
    // The models disagree on some rows: the vote is not just one model's answer.
    expect(labels.some((l) => l.some((v, i) => v !== expected[i]))).toBe(true);
    const { outputs } = await infer('vote', { users: many, products: items });
    expect(outputs.predictions).toEqual(expected);
  });
});

describe('routers', () => {
  it('a weighted router splits requests by weight, within binomial bounds, each answered by the model it chose', async () => {
    const [a, b] = await Promise.all([referenceScores(recommenderA, [17], [5]), referenceScores(recommenderB, [17], [5])]);
    const total = 2_000;
    let toA = 0;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        const score = (await infer('ab', { users: [17], products: [5] })).outputs.predictions;
        if (score?.[0] === a[0]) toA++;
        else expect(score).toEqual(b);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    // Binomial(2000, 0.8): mean 1600, sd 17.9; 5 sd either way.
    expect(Math.abs(toA - 1_600)).toBeLessThan(90);
    const metrics = (await rest.get('/metrics')).text;
    expect(metricValue(metrics, 'sluice_server_graph_routed_total', { model: 'ab', router: 'split', route: 'a' })).toBe(toA);
    expect(metricValue(metrics, 'sluice_server_graph_routed_total', { model: 'ab', router: 'split', route: 'b' })).toBe(total - toA);
  });

  it('a child of weight 0 gets no request', async () => {
    const a = await referenceScores(recommenderA, users, products);
    for (let i = 0; i < 50; i++) expect((await infer('all-a', { users, products })).outputs.predictions).toEqual(a);
  });

  it('an epsilon-greedy router moves its traffic to the route that earns rewards', async () => {
    const [a] = await referenceScores(recommenderA, [17], [5]);
    const random = seededRandom(11);
    const chosen: number[] = [];
    for (let i = 0; i < 400; i++) {
      const { id, outputs } = await infer('bandit', { users: [17], products: [5] }, `req-${i}`);
      expect(id).toBe(`req-${i}`);
      const route = outputs.predictions?.[0] === a ? 0 : 1;
      chosen.push(route);
      // Route b (1) pleases 80% of users, route a 20%.
      const reward = random() < (route === 1 ? 0.8 : 0.2) ? 1 : 0;
      const credited = await rest.post('/v2/models/bandit/feedback', { id, reward });
      expect(credited.status, credited.text).toBe(200);
      expect(credited.json()).toEqual({ model_name: 'bandit', model_version: '1', id, routing: { greedy: route } });
    }
    const last = chosen.slice(-150);
    // Exploiting b and exploring half the time with epsilon 0.1: ~95% b.
    expect(last.filter((r) => r === 1).length / last.length).toBeGreaterThan(0.85);
    const metrics = (await rest.get('/metrics')).text;
    const feedback = (route: string) => metricValue(metrics, 'sluice_server_graph_feedback_total', { model: 'bandit', route }) ?? 0;
    const reward = (route: string) => metricValue(metrics, 'sluice_server_graph_reward_sum', { model: 'bandit', route }) ?? 0;
    expect(feedback('a') + feedback('b')).toBe(400);
    expect(reward('b') / feedback('b')).toBeGreaterThan(reward('a') / Math.max(1, feedback('a')));
  });

  it('takes Seldon feedback naming the routes of an answer, and an id for requests that gave none', async () => {
    const answer = await rest.post('/api/v1.0/predictions', { data: { names: ['users', 'products'], ndarray: [[17, 5]] } }, { seldon: 'bandit' });
    expect(answer.status, answer.text).toBe(200);
    const meta = answer.json().meta;
    expect(meta.puid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.routing).toEqual({ greedy: expect.any(Number) });
    const credited = await rest.post('/api/v1.0/feedback', { response: { meta: { routing: meta.routing } }, reward: 1 }, { seldon: 'bandit' });
    expect(credited.status, credited.text).toBe(200);
    expect(credited.json().meta.routing).toEqual(meta.routing);
    const byPuid = await rest.post('/seldon/models/bandit/api/v1.0/feedback', { response: { meta: { puid: meta.puid } }, reward: 0 });
    expect(byPuid.status, byPuid.text).toBe(200);
    // OIP answers of a routing graph carry an id even when the request had none.
    expect((await infer('bandit', { users: [1], products: [2] })).id).toMatch(/^[0-9a-f-]{36}$/);
  });

  const feedbackErrors: [string, string, unknown, Record<string, string>, number, RegExp][] = [
    [
      'an id never routed',
      '/v2/models/bandit/feedback',
      { id: 'nope', reward: 1 },
      {},
      404,
      /^model bandit remembers no routed request nope: it was not routed by this version/,
    ],
    ['a reward that is not a number', '/v2/models/bandit/feedback', { id: 'x', reward: 'good' }, {}, 400, /^reward must be a number, got "good"$/],
    ['no id', '/v2/models/bandit/feedback', { reward: 1 }, {}, 400, /^id must be a non-empty string, got nothing$/],
    [
      'a model that does not route',
      '/v2/models/rec-a/feedback',
      { id: 'x', reward: 1 },
      {},
      400,
      /^model rec-a version 1: it is not an inference graph with a router: feedback has nothing to credit$/,
    ],
    [
      'a graph without router',
      '/v2/models/average/feedback',
      { id: 'x', reward: 1 },
      {},
      400,
      /^model average: it has no router: feedback has nothing to credit$/,
    ],
    ['Seldon feedback naming nothing', '/api/v1.0/feedback', { response: { meta: {} }, reward: 1 }, { seldon: 'bandit' }, 400, /"routing" or "puid"/],
    [
      'Seldon routing to an unknown router',
      '/api/v1.0/feedback',
      { response: { meta: { routing: { other: 0 } } }, reward: 1 },
      { seldon: 'bandit' },
      400,
      /has no router 'other' \(routers: greedy\)/,
    ],
    [
      'Seldon routing to a child out of range',
      '/api/v1.0/feedback',
      { response: { meta: { routing: { greedy: 2 } } }, reward: 1 },
      { seldon: 'bandit' },
      400,
      /router 'greedy' has no child 2: it routes to 0\.\.1 \(a, b\)/,
    ],
  ];
  it.each(feedbackErrors)('refuses feedback for %s', async (_, path, body, headers, status, message) => {
    const reply = await rest.post(path, body, headers);
    expect(reply.status, reply.text).toBe(status);
    const text = path.startsWith('/api') ? reply.json().status.info : reply.json().error;
    expect(text).toMatch(message);
  });

  it('credits a request once', async () => {
    const { id } = await infer('bandit', { users: [3], products: [4] }, 'once');
    expect((await rest.post('/v2/models/bandit/feedback', { id, reward: 1 })).status).toBe(200);
    const again = await rest.post('/v2/models/bandit/feedback', { id, reward: 1 });
    expect(again.status).toBe(404);
    expect(again.json().error).toMatch(/credited already/);
  });
});

describe('every protocol serves a graph', () => {
  let expected: number[];
  beforeAll(async () => {
    const [a, b] = await Promise.all([referenceScores(recommenderA, users, products), referenceScores(recommenderB, users, products)]);
    expected = a.map((x, i) => Math.fround((x + (b[i] as number)) / 2));
  });

  it('Open Inference REST and gRPC (raw and typed contents)', async () => {
    expect((await infer('average', { users, products })).outputs.predictions).toEqual(expected);
    const grpc = openInferenceClient(server.urls.grpc);
    try {
      const tensors = [
        { name: 'users', datatype: 'FP32', shape: [users.length, 1] },
        { name: 'products', datatype: 'FP32', shape: [products.length, 1] },
      ];
      const raw = await grpc.call('ModelInfer', { model_name: 'average', inputs: tensors, raw_input_contents: [rawFloats(users), rawFloats(products)] });
      expect(floatsOf(raw.raw_output_contents[0])).toEqual(expected);
      const typed = await grpc.call('ModelInfer', {
        model_name: 'average',
        inputs: [
          { ...tensors[0], contents: { fp32_contents: users } },
          { ...tensors[1], contents: { fp32_contents: products } },
        ],
      });
      expect(typed.outputs[0].contents.fp32_contents).toEqual(expected);
      const metadata = await grpc.call('ModelMetadata', { name: 'average' });
      expect(metadata.platform).toBe('inference_graph');
    } finally {
      grpc.close();
    }
  });

  it('TensorFlow Serving REST and gRPC', async () => {
    const reply = await rest.post('/v1/models/average:predict', { instances: users.map((u, i) => ({ users: [u], products: [products[i]] })) });
    expect(reply.status, reply.text).toBe(200);
    expect((reply.json().predictions as number[][]).flat()).toEqual(expected);
    const grpc = predictionClient(server.urls.grpc);
    try {
      const tensor = (values: number[]) => ({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: values.length }, { size: 1 }] }, float_val: values });
      const answer = await grpc.call('Predict', {
        model_spec: { name: 'average', signature_name: 'serving_default' },
        inputs: { users: tensor(users), products: tensor(products) },
      });
      expect(answer.outputs.predictions.float_val).toEqual(expected);
    } finally {
      grpc.close();
    }
  });

  it('Seldon REST', async () => {
    const reply = await rest.post('/seldon/models/average/api/v1.0/predictions', {
      data: { names: ['users', 'products'], ndarray: users.map((u, i) => [u, products[i]]) },
    });
    expect(reply.status, reply.text).toBe(200);
    expect((reply.json().data.ndarray as number[][]).flat()).toEqual(expected);
    expect(reply.json().meta).toEqual({ requestPath: { average: '1' } });
  });
});

describe('invalid graphs', () => {
  it.each(invalid)('%s is reported like an unloadable version, naming the file and node', async (name, _, reason) => {
    const index = (await rest.post('/v2/repository/index', {})).json() as { name: string; state: string; reason: string }[];
    const entry = index.find((e) => e.name === name);
    expect(entry).toMatchObject({ version: '1', state: 'UNAVAILABLE' });
    expect(entry?.reason).toContain(`inference graph ${join(repository, name, '1', 'graph.conf')} has `);
    expect(entry?.reason).toMatch(reason);
    const reply = await rest.post(`/v2/models/${name}/infer`, oipBody([1], [2]));
    expect(reply.status).toBe(503);
    expect(reply.json().error).toMatch(reason);
  });

  it('a graph whose model is missing serves once the model appears, and fails requests naming the node once it goes', async () => {
    await writeVersion(repository, 'late', 1, 'graph.conf', `root = a\nnodes {\n  a { type = model, model = rec-late }\n}`);
    await eventually(async () => {
      const entry = ((await rest.post('/v2/repository/index', {})).json() as { name: string; state: string; reason: string }[]).find((e) => e.name === 'late');
      expect(entry?.reason).toMatch(/model 'rec-late' is not in the repository/);
    });
    await writeVersion(repository, 'rec-late', 1, 'model.onnx', onnxBytes(recommenderB));
    await eventually(async () => expect((await rest.get('/v2/models/late/ready')).status).toBe(200));
    expect((await infer('late', { users, products })).outputs.predictions).toEqual(await referenceScores(recommenderB, users, products));

    await rm(join(repository, 'rec-late'), { recursive: true });
    await eventually(async () => expect((await rest.get('/v2/models/rec-late')).status).toBe(404));
    const reply = await rest.post('/v2/models/late/infer', oipBody([1], [2]));
    expect(reply.status).toBe(500);
    expect(reply.json().error).toBe("inference with model late failed: node 'a' (model rec-late): model rec-late not found");
  });

  it('an input the graph does not take is refused before any model is called', async () => {
    const reply = await rest.post('/v2/models/a-shifted/infer', oipBody([1], [2]));
    expect(reply.status).toBe(400);
    expect(reply.json().error).toBe("model a-shifted version 1: it has no input 'users' (inputs: 'user', 'products')");
  });
});

it('a graph that failed is loaded once its file is fixed', async () => {
  const file = join(repository, 'syntax', '1', 'graph.conf');
  await writeFile(file, 'root = a\nnodes {\n  a { type = model, model = rec-a }\n}\n');
  await eventually(async () => expect((await rest.get('/v2/models/syntax/ready')).status).toBe(200));
});
