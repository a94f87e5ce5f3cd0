/** The explainer streamlet, run in-process with the testkit on a linear ONNX model whose attributions are known. */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/log.js';
import { defineSchema, type AvroValue } from '../../../src/core/schema.js';
import { explainer } from '../../../src/observe/explain/explainer.js';
import type { Explanation } from '../../../src/observe/explain/explanation.js';
import { defaultExecutors } from '../../../src/serving/executors/index.js';
import { startStreamlet, type StreamletHarness } from '../../../src/testkit.js';
import { seededRandom } from '../../../src/util/random.js';
import { descriptor, linearFunction, linearModel, type LinearModel } from './models.js';

const loanDefinition = {
  type: 'record',
  name: 'Loan',
  namespace: 'test.explain',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'f0', type: 'double' },
    { name: 'f1', type: 'double' },
    { name: 'f2', type: 'double' },
    { name: 'f3', type: 'double' },
    { name: 'f4', type: ['null', 'double'], default: null },
  ],
} as const;
const Loan = defineSchema(loanDefinition);
type Loan = AvroValue<typeof loanDefinition>;

const decisionDefinition = {
  type: 'record',
  name: 'Decision',
  namespace: 'test.explain',
  fields: [
    { name: 'input', type: loanDefinition },
    { name: 'score', type: 'double' },
  ],
} as const;
const Decision = defineSchema(decisionDefinition);
type Decision = AvroValue<typeof decisionDefinition>;

const names = ['f0', 'f1', 'f2', 'f3', 'f4'] as const;
const v1: LinearModel = { weights: [0.5, -1.2, 2.0, 0.3, -0.7], bias: 0.25 };
const v2: LinearModel = { weights: [-1, 1, -1, 1, -1], bias: 3 };
const executors = defaultExecutors();

function loans(seed: number, firstId = 0) {
  const random = seededRandom(seed);
  let id = firstId;
  return (count: number): Loan[] =>
    Array.from({ length: count }, () => ({ id: id++, f0: 4 * random() - 2, f1: random(), f2: 2 * random(), f3: random() - 5, f4: random() }));
}
const vectorOf = (loan: Loan) => names.map((n) => loan[n] as number);
const meanOf = (records: readonly Loan[]) => names.map((n) => records.reduce((sum, r) => sum + (r[n] as number), 0) / records.length);

/** The known attributions of a linear model: wᵢ·(xᵢ − baselineᵢ). */
function expectLinearAttributions(e: Explanation, model: LinearModel, baseline: readonly number[]) {
  const x = e.values;
  e.attributions.forEach((a, i) =>
    expect(a, `feature ${names[i]}`).toBeCloseTo((model.weights[i] as number) * ((x[i] as number) - (baseline[i] as number)), 4),
  );
  expect(e.prediction).toBeCloseTo(linearFunction(model)(x), 4);
  expect(e.baseValue).toBeCloseTo(linearFunction(model)(baseline), 4);
  expect(e.attributions.reduce((a, b) => a + b, 0)).toBeCloseTo(e.prediction - e.baseValue, 4);
}

const harnesses: StreamletHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
});
async function start(definition: Parameters<typeof startStreamlet>[0], config: Record<string, unknown>, log = createLogger({ level: 'silent' })) {
  const h = await startStreamlet(definition, { name: 'explainer', config, log });
  harnesses.push(h);
  return h;
}
async function install(h: StreamletHarness, name: string, model: LinearModel, options: Partial<LinearModel> = {}) {
  const before = h.committed('models');
  await h.send('models', [descriptor(name, linearModel({ ...model, ...options }))]);
  await h.until(() => h.committed('models') > before);
}
const explanations = (h: StreamletHarness) => h.outputs('explanations') as readonly Explanation[];
async function state(h: StreamletHarness) {
  return (await (await fetch(`${h.url}/explainer`)).json()) as Record<string, unknown>;
}

const background = loans(1)(40);
const loanExplainer = explainer({ data: Loan, inputs: { x: [...names] }, output: 'y', key: (l) => String(l.id), background, executors });

describe('explainer streamlet', () => {
  it('explains the configured share of records with KernelSHAP: wᵢ·(xᵢ − background mean) for a linear model', async () => {
    const h = await start(loanExplainer, { 'sample-rate': 0.1, samples: 20 });
    await install(h, 'loan-v1', v1);
    await h.send('in', loans(2)(200));
    await h.until(() => h.committed('in') === 200);
    await h.until(() => explanations(h).length === 20);
    const out = explanations(h);
    // Evenly spread: the 10th, 20th, ... record.
    expect(out.map((e) => e.key)).toEqual(Array.from({ length: 20 }, (_, i) => String(10 * i + 9)));
    const mean = meanOf(background);
    for (const e of out) {
      expect(e).toMatchObject({ modelName: 'loan-v1', method: 'KERNEL_SHAP', output: 'y[0]', features: [...names] });
      expect(e.modelSince).toBeGreaterThan(Date.now() - 60_000);
      expect(e.evaluations).toBeGreaterThan(40);
      expectLinearAttributions(e, v1, mean);
    }
    expect(await state(h)).toMatchObject({
      model: 'loan-v1',
      method: 'kernel-shap',
      explained: 20,
      withoutModel: 0,
      notExplainable: 0,
      background: { records: 40, size: 40 },
    });
  });

  it.each([
    ['occlusion', 'OCCLUSION', 5 + 2],
    ['integrated-gradients', 'INTEGRATED_GRADIENTS', 2 + 2 * 8 * 5],
  ])('explains by %s with the background mean as baseline', async (method, symbol, evaluations) => {
    const h = await start(loanExplainer, { 'sample-rate': 1, method, steps: 8 });
    await install(h, 'loan-v1', v1);
    const records = loans(3)(10);
    await h.send('in', records);
    await h.until(() => explanations(h).length === 10);
    for (const [i, e] of explanations(h).entries()) {
      expect(e).toMatchObject({ method: symbol, key: String(records[i]?.id), values: vectorOf(records[i] as Loan), evaluations });
      expectLinearAttributions(e, v1, meanOf(background));
    }
  });

  it('takes its background from the stream when none is given, and counts records it cannot explain out of the share', async () => {
    const h = await start(explainer({ data: Loan, inputs: { x: [...names] }, output: 'y', key: (l) => String(l.id), executors }), {
      'sample-rate': 0.5,
      'background-size': 20,
      method: 'occlusion',
    });
    const draw = loans(4);
    // Before a model: the background fills, the rest waits for a model and is not explained.
    const first = draw(30);
    await h.send('in', first);
    await h.until(() => h.committed('in') === 30);
    await install(h, 'loan-v1', v1);
    // 100 records, 10 of them missing f4: 90 explainable, every second one explained.
    const next = draw(100).map((l, i) => (i % 10 === 0 ? { ...l, f4: null } : l));
    await h.send('in', next);
    await h.until(() => h.committed('in') === 130);
    await h.until(() => explanations(h).length === 45);
    for (const e of explanations(h)) expectLinearAttributions(e, v1, meanOf(first.slice(0, 20)));
    expect(await state(h)).toMatchObject({ explained: 45, withoutModel: 10, notExplainable: 10, background: { records: 20, size: 20 } });
  });

  it('explains results through a view of their input records', async () => {
    const decisions = explainer({
      data: Decision,
      view: (d: Decision) => d.input,
      inputs: { x: [...names] },
      output: { name: 'y', index: 0 },
      key: (d) => `loan-${d.input.id}`,
      background,
      executors,
    });
    const h = await start(decisions, { 'sample-rate': 1, method: 'occlusion' });
    await install(h, 'loan-v1', v1);
    await h.send(
      'in',
      loans(5)(3).map((input) => ({ input, score: 0 })),
    );
    await h.until(() => explanations(h).length === 3);
    expect(explanations(h).map((e) => e.key)).toEqual(['loan-0', 'loan-1', 'loan-2']);
    for (const e of explanations(h)) expectLinearAttributions(e, v1, meanOf(background));
  });

  it('keeps explaining the current model when an update does not fit, and switches on one that does', async () => {
    const lines: string[] = [];
    const h = await start(loanExplainer, { 'sample-rate': 1, method: 'occlusion' }, createLogger({ level: 'info', write: (line) => lines.push(line) }));
    await install(h, 'loan-v1', v1);
    await install(h, 'loan-renamed', v2, { input: 'features' });
    const draw = loans(6);
    await h.send('in', draw(2));
    await h.until(() => explanations(h).length === 2);
    expect(explanations(h).map((e) => e.modelName)).toEqual(['loan-v1', 'loan-v1']);
    const rejected = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'model update rejected by the explainer; the current model keeps being explained');
    expect(rejected).toMatchObject({ model: 'loan-renamed', explaining: 'loan-v1' });
    expect(String(rejected?.error)).toContain("model loan-renamed does not fit: the model has no input 'x' (its inputs: features)");
    expect(await state(h)).toMatchObject({ model: 'loan-v1', rejectedUpdates: 1 });

    await install(h, 'loan-v2', v2);
    await h.send('in', draw(2));
    await h.until(() => explanations(h).length === 4);
    for (const e of explanations(h).slice(2)) {
      expect(e.modelName).toBe('loan-v2');
      expectLinearAttributions(e, v2, meanOf(background));
    }
  });

  it.each([
    [{ 'sample-rate': 1.5 }, 'sample-rate must be at most 1, got 1.5'],
    [{ method: 'lime' }, 'method expected one of kernel-shap, occlusion, integrated-gradients, got "lime"'],
    [{ samples: 1 }, 'samples must be at least 2, got 1'],
    [{ 'background-size': 0 }, 'background-size must be at least 1, got 0'],
    [{ steps: 'many' }, 'steps expected an integer, got "many"'],
  ])('refuses config %j', async (config, message) => {
    await expect(startStreamlet(loanExplainer, { name: 'explainer', config })).rejects.toThrow(message);
  });

  it('refuses fields the schema does not have and a background record it cannot use', () => {
    expect(() => explainer({ data: Loan, inputs: { x: ['f0', 'f9' as 'f1'] }, output: 'y', key: (l) => String(l.id), executors })).toThrow(
      "explainer on test.explain.Loan: feature 'f9' is not a field of test.explain.Loan (its fields: id, f0, f1, f2, f3, f4)",
    );
    expect(() =>
      explainer({
        data: Loan,
        inputs: { x: [...names] },
        output: 'y',
        key: (l) => String(l.id),
        background: [{ ...background[0], f4: null } as Loan],
        executors,
      }),
    ).toThrow('explainer on test.explain.Loan: background record 0: cannot score the record: missing fields: f4');
    expect(() => explainer({ data: Loan, inputs: { x: [...names] }, output: 'y', key: (l) => String(l.id), background: [], executors })).toThrow(
      'explainer on test.explain.Loan: the background is empty',
    );
    expect(() => explainer({ data: Loan, inputs: { x: [...names] }, output: { name: 'y', index: -1 }, key: (l) => String(l.id), executors })).toThrow(
      'output index must be a whole number ≥ 0, got -1',
    );
  });
});
