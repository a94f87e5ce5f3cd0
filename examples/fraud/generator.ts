/**
 * Synthetic card transactions with a known structure, for the fraud example and its training.
 *
 * Normal transactions are correlated Gaussians: 6 hidden factors mixed into the 28 features by a
 * fixed random matrix (so the features live near a 6-dimensional subspace, which an autoencoder
 * can learn), plus a little independent noise per feature; feature scales fall from v1 to v28 as
 * PCA components' do. The amount is log-normal and depends on the same factors.
 *
 * Fraudulent transactions add a component along 3 other directions, of random strength, and have
 * amounts drawn from a different distribution: most are far from the normal subspace, a few
 * (weak strength) hide inside the normal variation, as real fraud does.
 *
 * The structure (mixing matrices, scales) is fixed — it is the "world" — and identical for every
 * seed; the seed only chooses which transactions are drawn. So a model trained on one seed's
 * normal transactions can be judged on another seed's stream.
 */
import { gaussianSource, seededRandom } from '../../src/util/random.js';
import { transactionFeatures, type TransactionFeature, type TransactionRecord } from './schemas.js';

/** The number of anonymised features (`v1`..`v28`); the model's input adds the amount. */
export const FEATURE_COUNT = 28;
/** Columns of the model's input: the features and the amount. */
export const INPUT_WIDTH = FEATURE_COUNT + 1;

const STRUCTURE_SEED = 0x0f4a0d;
const FACTORS = 6;
const FRAUD_DIRECTIONS = 3;
/** Share of each feature's standard deviation that is independent noise. */
const NOISE = 0.2;
const SIGNAL = Math.sqrt(1 - NOISE * NOISE);
const AMOUNT_LOG_MEAN = Math.log(60);
const AMOUNT_LOG_SPREAD = 0.45;

export interface TransactionGeneratorOptions {
  /** Chooses the transactions drawn (not the structure they are drawn from). */
  readonly seed: number;
  /** Probability that a transaction is fraudulent; default 0.01. */
  readonly fraudFraction?: number;
  /** Probability that a transaction has a missing field (one, sometimes two); default 0.005. */
  readonly missingFraction?: number;
  /** Id of the first transaction; default 1. Ids then count up. */
  readonly firstId?: number;
}

interface Structure {
  /** Standard deviation of each feature. */
  readonly scales: Float64Array;
  /** [FEATURE_COUNT, FACTORS], unit rows: how the hidden factors make each feature. */
  readonly mixing: Float64Array;
  /** [FACTORS], unit: how the factors move the (log) amount. */
  readonly amountDirection: Float64Array;
  /** [FEATURE_COUNT, FRAUD_DIRECTIONS], unit rows: the directions fraud adds. */
  readonly fraudMixing: Float64Array;
}

let structure: Structure | undefined;

/** The fixed world all generators draw from. */
function worldStructure(): Structure {
  if (structure) return structure;
  const gaussian = gaussianSource(seededRandom(STRUCTURE_SEED));
  const unitRows = (rows: number, columns: number): Float64Array => {
    const m = new Float64Array(rows * columns);
    for (let r = 0; r < rows; r++) {
      let norm = 0;
      for (let c = 0; c < columns; c++) norm += (m[r * columns + c] = gaussian()) ** 2;
      norm = Math.sqrt(norm);
      for (let c = 0; c < columns; c++) m[r * columns + c] = (m[r * columns + c] as number) / norm;
    }
    return m;
  };
  // Like PCA components: the first feature varies most (sd 2), the last least (sd 0.3).
  const scales = Float64Array.from({ length: FEATURE_COUNT }, (_, j) => 2 * (0.3 / 2) ** (j / (FEATURE_COUNT - 1)));
  structure = {
    scales,
    mixing: unitRows(FEATURE_COUNT, FACTORS),
    amountDirection: unitRows(1, FACTORS),
    fraudMixing: unitRows(FEATURE_COUNT, FRAUD_DIRECTIONS),
  };
  return structure;
}

/** A repeatable stream of transactions: the same options give the same records. */
export class TransactionGenerator {
  private readonly random: () => number;
  private readonly gaussian: () => number;
  private readonly fraudFraction: number;
  private readonly missingFraction: number;
  private readonly features = new Float64Array(INPUT_WIDTH);
  private nextId: number;

  constructor(options: TransactionGeneratorOptions) {
    this.fraudFraction = fraction('fraudFraction', options.fraudFraction ?? 0.01);
    this.missingFraction = fraction('missingFraction', options.missingFraction ?? 0.005);
    this.random = seededRandom(options.seed);
    this.gaussian = gaussianSource(this.random);
    this.nextId = options.firstId ?? 1;
  }

  next(): TransactionRecord {
    const fraud = this.random() < this.fraudFraction;
    const missing = this.random() < this.missingFraction;
    if (fraud) this.drawFraud(this.features);
    else this.drawNormal(this.features);
    const record = { id: this.nextId++, label: fraud } as TransactionRecord;
    transactionFeatures.forEach((field, j) => (record[field] = this.features[j] as number));
    if (missing) {
      // One field missing, one time in five two of them.
      const count = this.random() < 0.2 ? 2 : 1;
      for (let i = 0; i < count; i++) record[transactionFeatures[Math.floor(this.random() * INPUT_WIDTH)] as TransactionFeature] = null;
    }
    return record;
  }

  /** `count` normal transactions' model inputs (features, then amount), row-major [count, 29]. */
  normalRows(count: number): Float32Array {
    const rows = new Float32Array(count * INPUT_WIDTH);
    for (let r = 0; r < count; r++) {
      this.drawNormal(this.features);
      rows.set(this.features, r * INPUT_WIDTH);
    }
    return rows;
  }

  private drawNormal(into: Float64Array): void {
    const { scales, mixing, amountDirection } = worldStructure();
    const factors = this.gaussians(FACTORS);
    for (let j = 0; j < FEATURE_COUNT; j++) {
      into[j] = round((scales[j] as number) * (SIGNAL * dot(mixing, j * FACTORS, factors) + NOISE * this.gaussian()), 6);
    }
    const logAmount = AMOUNT_LOG_MEAN + AMOUNT_LOG_SPREAD * (SIGNAL * dot(amountDirection, 0, factors) + NOISE * this.gaussian());
    into[FEATURE_COUNT] = round(Math.exp(logAmount), 2);
  }

  private drawFraud(into: Float64Array): void {
    const { scales, mixing, fraudMixing } = worldStructure();
    const factors = this.gaussians(FACTORS);
    const directions = this.gaussians(FRAUD_DIRECTIONS);
    // Strength of the fraud component relative to a feature's sd; weak ones pass for normal.
    const strength = 0.6 + 1.4 * this.random();
    for (let j = 0; j < FEATURE_COUNT; j++) {
      const normal = SIGNAL * dot(mixing, j * FACTORS, factors);
      into[j] = round((scales[j] as number) * (0.8 * normal + strength * dot(fraudMixing, j * FRAUD_DIRECTIONS, directions) + NOISE * this.gaussian()), 6);
    }
    // Card testing (tiny amounts) or cash-out (large ones).
    const logAmount = this.random() < 0.4 ? Math.log(1 + 4 * this.random()) : Math.log(250) + 0.8 * this.gaussian();
    into[FEATURE_COUNT] = round(Math.exp(logAmount), 2);
  }

  private gaussians(count: number): Float64Array {
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) values[i] = this.gaussian();
    return values;
  }
}

function dot(matrix: Float64Array, offset: number, vector: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += (matrix[offset + i] as number) * (vector[i] as number);
  return sum;
}


function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function fraction(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be within [0, 1], got ${value}`);
  return value;
}
