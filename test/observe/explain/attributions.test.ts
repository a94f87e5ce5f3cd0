/**
 * Attribution methods against attributions known in closed form: a linear model's Shapley values
 * are wᵢ·(xᵢ − E[xᵢ]) over the background, and a two-feature product's are computed by hand from
 * the Shapley formula. Models run on onnxruntime (built with src/serving/onnx-builder.ts), and a
 * plain-JS function checks the algorithms on their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnMeans, type Predict } from '../../../src/observe/explain/attribution.js';
import { integratedGradients } from '../../../src/observe/explain/integrated-gradients.js';
import { kernelShap, sampleCoalitions } from '../../../src/observe/explain/kernel-shap.js';
import { ModelFeatures } from '../../../src/observe/explain/model-features.js';
import { occlusion } from '../../../src/observe/explain/occlusion.js';
import type { LoadedModel } from '../../../src/serving/executor.js';
import { onnxExecutor } from '../../../src/serving/executors/onnx.js';
import { seededRandom } from '../../../src/util/random.js';
import { descriptor, linearFunction, linearModel, twoInputModel, type LinearModel } from './models.js';

/** A plain-JS model as a Predict. */
function predictOf(f: (x: ArrayLike<number>) => number): Predict {
  return async (rows, count) => {
    const features = rows.length / count;
    return Float64Array.from({ length: count }, (_, r) => f(rows.subarray(r * features, (r + 1) * features)));
  };
}

function randomRows(count: number, features: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length: count * features }, () => 4 * random() - 2);
}

/** Shapley values by their definition: every subset S of the other features, weighted |S|!(M−|S|−1)!/M!, with v(S) the mean over the background. */
function exactShapley(f: (x: ArrayLike<number>) => number, x: Float64Array, background: Float64Array): Float64Array {
  const m = x.length;
  const rows = background.length / m;
  const value = (subset: number) => {
    let sum = 0;
    for (let b = 0; b < rows; b++)
      sum += f(Float64Array.from({ length: m }, (_, j) => ((subset >> j) & 1 ? (x[j] as number) : (background[b * m + j] as number))));
    return sum / rows;
  };
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  const phi = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let subset = 0; subset < 1 << m; subset++) {
      if ((subset >> i) & 1) continue;
      const size = subset
        .toString(2)
        .split('')
        .filter((c) => c === '1').length;
      const weight = (factorial(size) * factorial(m - size - 1)) / factorial(m);
      phi[i] = (phi[i] as number) + weight * (value(subset | (1 << i)) - value(subset));
    }
  }
  return phi;
}

const expectAll = (actual: ArrayLike<number>, expected: ArrayLike<number>, digits: number) => {
  expect(actual.length).toBe(expected.length);
  Array.from(expected).forEach((e, i) => expect(actual[i], `feature ${i}`).toBeCloseTo(e, digits));
};

describe('attributions by hand: f(x) = x₀·x₁ + x₂, x = (2, 3, 5), one background row b = (1, −1, 0.5)', () => {
  const predict = predictOf((x) => (x[0] as number) * (x[1] as number) + (x[2] as number));
  const x = Float64Array.of(2, 3, 5);
  const b = Float64Array.of(1, -1, 0.5);

  it('KernelSHAP with every coalition gives the Shapley values: φ₀ = ½[(x₀b₁ − b₀b₁) + (x₀x₁ − b₀x₁)] = 1, φ₁ = 6, φ₂ = x₂ − b₂ = 4.5', async () => {
    const result = await kernelShap(predict, x, b, { samples: 6 });
    expectAll(result.attributions, [1, 6, 4.5], 12);
    expect(result).toMatchObject({ prediction: 11, baseValue: -0.5, evaluations: 1 + 1 + 6 });
  });

  it('occlusion gives f(x) − f(x with xᵢ = bᵢ) = 3, 8, 4.5, which with an interaction do not add up to f(x) − f(b) = 11.5', async () => {
    const result = await occlusion(predict, x, b);
    expectAll(result.attributions, [3, 8, 4.5], 12);
    expect(result).toMatchObject({ prediction: 11, baseValue: -0.5, evaluations: 5 });
  });

  it('integrated gradients give (xᵢ − bᵢ)·mean of ∂f/∂xᵢ on the path = 1, 6, 4.5 (exact here: the integrand is linear in α)', async () => {
    const result = await integratedGradients(predict, x, b, { steps: 4 });
    expectAll(result.attributions, [1, 6, 4.5], 12);
    expect(result.evaluations).toBe(2 + 2 * 4 * 3);
  });
});

describe('KernelSHAP with sampled coalitions', () => {
  it('approaches the Shapley values as the budget grows (10 features, 1022 coalitions; mean error over 10 seeds)', async () => {
    const m = 10;
    const weights = Array.from({ length: m }, (_, i) => Math.sin(i + 1));
    const f = (x: ArrayLike<number>) => {
      let y = 0;
      for (let i = 0; i < m; i++) y += (weights[i] as number) * (x[i] as number);
      return y + (x[0] as number) * (x[1] as number) * (x[2] as number) + 0.5 * (x[3] as number) * (x[4] as number);
    };
    const background = randomRows(20, m, 3);
    const x = randomRows(1, m, 4);
    const exact = exactShapley(f, x, background);
    const largest = Math.max(...Array.from(exact, Math.abs));
    const meanError = async (samples: number) => {
      let total = 0;
      for (let seed = 0; seed < 10; seed++) {
        const { attributions } = await kernelShap(predictOf(f), x, background, { samples, random: seededRandom(seed) });
        for (let i = 0; i < m; i++) total += Math.abs((attributions[i] as number) - (exact[i] as number));
      }
      return total / (10 * m) / largest;
    };
    const [coarse, fine] = [await meanError(32), await meanError(256)];
    // Measured: 6.7 % of the largest attribution at 32 coalitions, 1.5 % at 256.
    expect(fine).toBeLessThan(0.02);
    expect(fine).toBeLessThan(coarse / 2);
  });
});

describe('attributions of ONNX models', () => {
  const linear: LinearModel = { weights: [0.5, -1.2, 2.0, 0.3, -0.7], bias: 0.25 };
  const interacting: LinearModel = { weights: [0.4, -0.3, 1.1, 0.2, -0.8, 0.6], bias: -0.1, interaction: true };
  const features = (k: number) => new ModelFeatures<Record<string, number>>({ inputs: { x: Array.from({ length: k }, (_, i) => `f${i}`) }, output: 'y' });
  const loaded: LoadedModel[] = [];
  let linearPredict: Predict;
  let interactingPredict: Predict;

  beforeAll(async () => {
    const load = async (name: string, model: LinearModel) => {
      const m = await onnxExecutor.load(descriptor(name, linearModel(model)));
      loaded.push(m);
      return features(model.weights.length).predictor(m);
    };
    linearPredict = await load('linear', linear);
    interactingPredict = await load('interacting', interacting);
  });
  afterAll(async () => {
    await Promise.all(loaded.map((m) => m.unload()));
  });

  it('a linear model f(x) = w·x + b: every method gives wᵢ·(xᵢ − mean of the background), KernelSHAP even from sampled coalitions', async () => {
    const background = randomRows(40, 5, 1);
    const mean = columnMeans(background, 5);
    for (let r = 0; r < 5; r++) {
      const x = randomRows(1, 5, 100 + r);
      const expected = linear.weights.map((w, i) => w * ((x[i] as number) - (mean[i] as number)));
      // 20 coalitions of the 30 there are: sizes 1 and 4 enumerated, the rest sampled.
      const shap = await kernelShap(linearPredict, x, background, { samples: 20, random: seededRandom(r) });
      expectAll(shap.attributions, expected, 5);
      expect(shap.prediction).toBeCloseTo(linearFunction(linear)(x), 5);
      expect(shap.baseValue).toBeCloseTo(linearFunction(linear)(mean), 5);
      expectAll((await occlusion(linearPredict, x, mean)).attributions, expected, 5);
      expectAll((await integratedGradients(linearPredict, x, mean, { steps: 8 })).attributions, expected, 4);
    }
  });

  it('KernelSHAP with every coalition equals the Shapley values from their definition, for a model with a three-way interaction', async () => {
    const background = randomRows(10, 6, 2);
    const x = randomRows(1, 6, 3);
    const result = await kernelShap(interactingPredict, x, background, { samples: 62 });
    expectAll(result.attributions, exactShapley(linearFunction(interacting), x, background), 5);
    expect(result.evaluations).toBe(1 + 10 + 62 * 10);
  });

  it('KernelSHAP attributions add up to prediction − base value, also when coalitions are sampled', async () => {
    const background = randomRows(25, 6, 4);
    for (const samples of [4, 10, 30]) {
      const x = randomRows(1, 6, 10 + samples);
      const result = await kernelShap(interactingPredict, x, background, { samples, random: seededRandom(samples) });
      const sum = result.attributions.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(result.prediction - result.baseValue, 10);
      expect(result.baseValue).toBeCloseTo(meanOutput(interacting, background, 6), 5);
    }
  });

  it('maps features onto several input tensors in order', async () => {
    const model = await onnxExecutor.load(descriptor('two-inputs', twoInputModel([1, 10, 100], 0.5)));
    loaded.push(model);
    const view = new ModelFeatures<{ p: number; q: number; r: number }>({ inputs: { a: ['p', 'q'], b: ['r'] }, output: { name: 'y', index: 0 } });
    expect(view.names).toEqual(['p', 'q', 'r']);
    expect(view.check(model.metadata())).toEqual([]);
    const outputs = await view.predictor(model)(Float64Array.of(1, 2, 3, 0, 0, 1), 2);
    expect(Array.from(outputs)).toEqual([1 + 20 + 300 + 0.5, 100.5]);
    expect(view.vector({ p: 1, q: 2, r: 3 })).toEqual(Float64Array.of(1, 2, 3));
    expect(view.vector({ p: 1, q: null, r: 3 } as never)).toBe('cannot score the record: missing fields: q');
  });

  it('says why a model does not fit the feature view', async () => {
    const model = await onnxExecutor.load(descriptor('two-inputs', twoInputModel([1, 10, 100], 0.5)));
    loaded.push(model);
    expect(new ModelFeatures<{ p: number; q: number }>({ inputs: { a: ['p', 'q'] }, output: 'y' }).check(model.metadata())).toEqual([
      "the model also takes input 'b', which no record field fills",
    ]);
    expect(
      new ModelFeatures<{ p: number; q: number; r: number }>({ inputs: { a: ['p', 'q'], b: ['r'] }, output: { name: 'y', index: 1 } }).check(model.metadata()),
    ).toEqual(["output 'y' has 1 values per record (shape [?,1]), so it has no index 1"]);
    expect(new ModelFeatures<{ p: number; q: number; r: number }>({ inputs: { a: ['p', 'q', 'r'] }, output: 'score' }).check(model.metadata())).toEqual([
      "input 'a' takes 2 values per row, but the mapping fills 3 fields (p, q, r)",
      "the model also takes input 'b', which no record field fills",
      "the model has no output 'score' (its outputs: y)",
    ]);
  });
});

function meanOutput(model: LinearModel, background: Float64Array, features: number): number {
  const f = linearFunction(model);
  let sum = 0;
  for (let r = 0; r < background.length / features; r++) sum += f(background.subarray(r * features, (r + 1) * features));
  return sum / (background.length / features);
}

describe('KernelSHAP coalitions', () => {
  const kernel = (m: number, s: number) => (m - 1) / (binomial(m, s) * s * (m - s));

  it('enumerates every coalition, weighted by the Shapley kernel, when the budget allows', () => {
    const c = sampleCoalitions(4, 14, Math.random);
    expect(c.count).toBe(14);
    for (let i = 0; i < c.count; i++) {
      const size = c.masks.subarray(i * 4, (i + 1) * 4).reduce((a, b) => a + b, 0);
      expect(c.weights[i]).toBeCloseTo(kernel(4, size), 12);
    }
  });

  it('within a smaller budget, enumerates the sizes that fit (1 and M−1 first) and samples the rest in complementary pairs', () => {
    const m = 10;
    const c = sampleCoalitions(m, 100, seededRandom(1));
    expect(c.count).toBeLessThanOrEqual(100);
    const masks = Array.from({ length: c.count }, (_, i) => Array.from(c.masks.subarray(i * m, (i + 1) * m)).join(''));
    const sizes = masks.map((mask) => mask.split('').filter((v) => v === '1').length);
    expect(sizes.filter((s) => s === 1)).toHaveLength(10);
    expect(sizes.filter((s) => s === 9)).toHaveLength(10);
    masks.forEach((mask, i) => {
      if (sizes[i] === 1 || sizes[i] === 9) expect(c.weights[i]).toBeCloseTo(kernel(m, sizes[i] as number), 12);
      const complement = mask
        .split('')
        .map((v) => (v === '1' ? '0' : '1'))
        .join('');
      expect(masks).toContain(complement);
    });
    expect(sizes.every((s) => s >= 1 && s <= 9)).toBe(true);
  });

  it('rejects a budget under 2 and a background that is not whole rows', async () => {
    expect(() => sampleCoalitions(5, 1, Math.random)).toThrow('KernelSHAP needs a budget of at least 2 coalitions, got 1');
    const predict = predictOf((x) => x[0] as number);
    await expect(kernelShap(predict, Float64Array.of(1, 2), Float64Array.of(1, 2, 3))).rejects.toThrow('expected whole rows of 2 features, got 3 values');
    await expect(occlusion(predict, Float64Array.of(1, 2), Float64Array.of(1))).rejects.toThrow('the baseline has 1 features, the record 2');
    await expect(integratedGradients(predict, Float64Array.of(1), Float64Array.of(0), { steps: 0 })).rejects.toThrow(
      'integrated gradients need at least 1 step, got 0',
    );
  });
});

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return Math.round(result);
}
