/**
 * Builds the predictive-maintenance example's anomaly model: the squared Mahalanobis distance of
 * a reading from healthy readings, fit on a healthy fleet of the example's own simulator, and
 * exported to ONNX. No training loop: the fit is the mean and covariance of the healthy readings.
 *
 * With Σ = L·Lᵀ (Cholesky), the distance is ‖L⁻¹(x − μ)‖², so the graph is
 * `score = ReduceSum((readings − μ) · W)²` with W = L⁻ᵀ: input `readings` float32 [n,4]
 * (temperature, vibration, pressure, rpm, raw units), output `score` float32 [n,1].
 *
 * The threshold is picked from held-out healthy readings, without any faulty ones: 1.3 × their
 * 99.9th percentile. Everything is seeded; the same options write the same bytes.
 *
 * Run directly to write the model files:
 *   npx tsx examples/maintenance/models/build-model.ts [outDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cholesky, solveLower } from '../../../src/observe/drift/linear-algebra.js';
import { encodeModel, float32Initializer, int64Initializer, intAttr, node, valueInfo } from '../../../src/serving/onnx-builder.js';
import { MAINTENANCE_INPUT, MAINTENANCE_OUTPUT } from '../adapter.js';
import { healthyRows } from '../fleet.js';
import { sensorFeatures } from '../schemas.js';

export const MAINTENANCE_MODEL_NAME = 'machine-anomaly';

export interface AnomalyModelOptions {
  /** Seed of the healthy readings fit on (the held-out ones use seed + 1); default 1. */
  readonly seed?: number;
  /** Healthy readings fit on; default 20,000. */
  readonly samples?: number;
  /** Held-out healthy readings the threshold is picked from; default 20,000. */
  readonly validationSamples?: number;
  /** Percentile of the held-out scores the threshold starts from; default 0.999. */
  readonly thresholdQuantile?: number;
  /** Factor applied to that percentile; default 1.3. */
  readonly thresholdMargin?: number;
}

/** The fitted model, in plain numbers: what the ONNX export and the reference scorer read. */
export interface AnomalyModel {
  readonly mean: Float64Array;
  /** Lower Cholesky factor of the covariance, row-major [k,k]. */
  readonly lower: Float64Array;
  readonly threshold: number;
  /** Percentiles of the held-out healthy scores. */
  readonly validationScores: { readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number };
}

/** Fits mean and covariance to healthy readings and picks the alert threshold. */
export function fitAnomalyModel(options: AnomalyModelOptions = {}): AnomalyModel {
  const seed = options.seed ?? 1;
  const k = sensorFeatures.length;
  const rows = healthyRows(options.samples ?? 20_000, seed);
  const n = rows.length / k;
  const mean = new Float64Array(k);
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) mean[j] = (mean[j] as number) + (rows[r * k + j] as number) / n;
  const covariance = new Float64Array(k * k);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++) {
      const di = (rows[r * k + i] as number) - (mean[i] as number);
      for (let j = 0; j <= i; j++)
        covariance[i * k + j] = (covariance[i * k + j] as number) + (di * ((rows[r * k + j] as number) - (mean[j] as number))) / (n - 1);
    }
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) covariance[j * k + i] = covariance[i * k + j] as number;
  const lower = cholesky(covariance, k);
  if (!lower) throw new Error('the covariance of the healthy readings is not positive definite');

  const held = healthyRows(options.validationSamples ?? 20_000, seed + 1);
  const scores = Float64Array.from({ length: held.length / k }, (_, r) => mahalanobisSquared({ mean, lower }, held.subarray(r * k, (r + 1) * k))).sort();
  const at = (q: number) => scores[Math.min(scores.length - 1, Math.floor(q * scores.length))] as number;
  const threshold = Number(((options.thresholdMargin ?? 1.3) * at(options.thresholdQuantile ?? 0.999)).toFixed(2));
  return { mean, lower, threshold, validationScores: { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: scores.at(-1) as number } };
}

/** The reference score of one reading (the raw values of {@link sensorFeatures}), in float64. */
export function mahalanobisSquared(model: Pick<AnomalyModel, 'mean' | 'lower'>, values: ArrayLike<number>): number {
  const k = model.mean.length;
  const centred = Float64Array.from({ length: k }, (_, j) => (values[j] as number) - (model.mean[j] as number));
  return solveLower(model.lower, k, centred).reduce((sum, z) => sum + z * z, 0);
}

/** The model as an ONNX graph (opset 13): Sub, MatMul, Mul, ReduceSum. */
export function anomalyModelOnnx(model: AnomalyModel): Uint8Array {
  const k = model.mean.length;
  // Row j of W = L⁻ᵀ is L⁻¹·e_j, so a row vector times W whitens it.
  const whitening = new Float64Array(k * k);
  for (let j = 0; j < k; j++)
    whitening.set(
      solveLower(
        model.lower,
        k,
        Array.from({ length: k }, (_, i) => (i === j ? 1 : 0)),
      ),
      j * k,
    );
  return encodeModel(
    {
      name: MAINTENANCE_MODEL_NAME,
      inputs: [valueInfo(MAINTENANCE_INPUT, 'float32', ['batch', k])],
      outputs: [valueInfo(MAINTENANCE_OUTPUT, 'float32', ['batch', 1])],
      initializers: [
        float32Initializer('mean', [k], model.mean),
        float32Initializer('whitening', [k, k], whitening),
        int64Initializer('feature_axis', [1], [1]),
      ],
      nodes: [
        node('Sub', [MAINTENANCE_INPUT, 'mean'], ['centred']),
        node('MatMul', ['centred', 'whitening'], ['whitened']),
        node('Mul', ['whitened', 'whitened'], ['squared']),
        node('ReduceSum', ['squared', 'feature_axis'], [MAINTENANCE_OUTPUT], [intAttr('keepdims', 1)]),
      ],
      docString: `Squared Mahalanobis distance of [${sensorFeatures.join(', ')}] from healthy machine readings`,
    },
    { metadata: { threshold: String(model.threshold) } },
  );
}

/** Writes `machine-anomaly.onnx` and its sidecar `machine-anomaly.json` (description, threshold, figures) into `outDir`. */
export async function writeAnomalyModel(outDir: string, options: AnomalyModelOptions = {}): Promise<AnomalyModel> {
  const model = fitAnomalyModel(options);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, `${MAINTENANCE_MODEL_NAME}.onnx`), anomalyModelOnnx(model));
  const sidecar = {
    description: `Machine anomaly: squared Mahalanobis distance of ${sensorFeatures.join(', ')} from healthy readings; alert above ${model.threshold}`,
    threshold: model.threshold,
    thresholdRule: `${options.thresholdMargin ?? 1.3} × the ${(options.thresholdQuantile ?? 0.999) * 100}th percentile of held-out healthy scores`,
    mean: Array.from(model.mean),
    validationScores: model.validationScores,
  };
  await writeFile(join(outDir, `${MAINTENANCE_MODEL_NAME}.json`), `${JSON.stringify(sidecar, null, 2)}\n`);
  return model;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = resolve(process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url)));
  const model = await writeAnomalyModel(outDir);
  console.log(`wrote ${MAINTENANCE_MODEL_NAME}.onnx to ${outDir}: threshold ${model.threshold}, held-out healthy scores`, model.validationScores);
}
