/**
 * Helpers for the PMML executor tests: load a fixture or an inline document, score plain rows,
 * and compare against values worked out by hand.
 *
 * Tolerance: outputs are float32 tensors, so a value is compared with a relative tolerance of
 * 1e-6 (float32 keeps about 7 significant digits; its rounding error is below 6e-8 relative).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { SluiceError } from '../../../src/core/errors.js';
import type { ModelDescriptor } from '../../../src/serving/descriptor.js';
import type { LoadedModel } from '../../../src/serving/executor.js';
import { pmmlExecutor } from '../../../src/serving/executors/pmml/index.js';
import { tensor, type NamedTensors, type Tensor } from '../../../src/serving/tensor.js';

export const fixturesDir = new URL('../../fixtures/pmml/', import.meta.url);

export function fixture(name: string): string {
  return readFileSync(new URL(name, fixturesDir), 'utf8');
}

/** A fixture with text replaced, failing loudly when the text is not there. */
export function edited(name: string, ...replacements: readonly (readonly [string, string])[]): string {
  let text = fixture(name);
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`${name} does not contain ${from}`);
    text = text.split(from).join(to);
  }
  return text;
}

export function descriptor(modelName: string, text: string | null, location: string | null = null): ModelDescriptor {
  return {
    modelName,
    description: `test model ${modelName}`,
    modelType: 'PMML',
    modelBytes: text === null ? null : Buffer.from(text, 'utf8'),
    modelSourceLocation: location,
  };
}

export function load(text: string, modelName = 'test-model'): Promise<LoadedModel> {
  return pmmlExecutor.load(descriptor(modelName, text));
}

/** Input columns: numbers (null → NaN, a missing value) or strings ('' is missing). */
export type Columns = Readonly<Record<string, readonly (number | null)[] | readonly string[]>>;

export function inputs(columns: Columns, floatType: 'float32' | 'float64' = 'float64'): NamedTensors {
  const tensors: Record<string, Tensor> = {};
  for (const [name, values] of Object.entries(columns)) {
    if (values.length > 0 && typeof values[0] === 'string') {
      tensors[name] = tensor('string', [values.length, 1], [...(values as readonly string[])]);
    } else {
      const numbers = (values as readonly (number | null)[]).map((v) => v ?? NaN);
      tensors[name] =
        floatType === 'float64'
          ? tensor('float64', [values.length, 1], Float64Array.from(numbers))
          : tensor('float32', [values.length, 1], Float32Array.from(numbers));
    }
  }
  return tensors;
}

/** Scores the rows (float64 inputs unless said otherwise) and returns each output as a plain array. */
export async function score(model: LoadedModel, columns: Columns, floatType: 'float32' | 'float64' = 'float64'): Promise<Record<string, (number | string)[]>> {
  const outputs = await model.infer(inputs(columns, floatType));
  const plain: Record<string, (number | string)[]> = {};
  for (const [name, t] of Object.entries(outputs)) {
    expect(t.shape[1], `${name} is [n,1]`).toBe(1);
    plain[name] = Array.from(t.data as ArrayLike<number | string>);
  }
  return plain;
}

/** Each value equals the expected one within the float32 tolerance (an expected NaN wants NaN). */
export function expectNear(actual: readonly (number | string)[] | undefined, expected: readonly number[]): void {
  expect(actual, 'output tensor').toBeDefined();
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => {
    const a = (actual as readonly (number | string)[])[i];
    expect(typeof a, `row ${i}`).toBe('number');
    if (Number.isNaN(e)) {
      expect(a, `row ${i}`).toBeNaN();
    } else {
      expect(Math.abs((a as number) - e), `row ${i}: ${String(a)} vs ${e}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(e)));
    }
  });
}

/** A SluiceError with this code whose message contains every fragment, in order. */
export function sluiceError(code: SluiceError['code'], ...fragments: string[]): object {
  return expect.objectContaining({
    name: 'SluiceError',
    code,
    message: expect.stringMatching(new RegExp(fragments.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*'))),
  });
}

export const sigmoid = (y: number): number => 1 / (1 + Math.exp(-y));

/** e^y_j / Σ e^y_k, written out. */
export function softmax(...ys: number[]): number[] {
  const exps = ys.map((y) => Math.exp(y));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
