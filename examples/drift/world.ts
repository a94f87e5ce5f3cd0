/**
 * The drift example's world: four numeric features and a binary label, before and after a
 * shift. Before it, the features are standard normal and the label follows a logistic model
 * around a line through the origin at 30° in the (x1, x2) plane, with x3 helping a little and x4
 * plain noise. After it, the means of x1 and x2 move by `meanShift` standard deviations and the
 * decision boundary turns by `rotationDegrees` around the new centre: a model fitted before
 * the shift ranks records after it little better than chance (rotation 90°) or worse (above 90°).
 */
import { seededRandom } from '../../src/util/random.js';

/** The features, in the order models read them. */
export const DRIFT_FEATURES = ['x1', 'x2', 'x3', 'x4'] as const;
export type DriftFeature = (typeof DRIFT_FEATURES)[number];

export interface WorldOptions {
  readonly seed: number;
  /** How far the decision boundary turns at the shift, in degrees. */
  readonly rotationDegrees: number;
  /** How far the means of x1 and x2 move at the shift, in standard deviations. */
  readonly meanShift: number;
  /** How sharply the label follows the boundary (the logistic slope); default 3. */
  readonly sharpness?: number;
}

export interface Draw {
  readonly features: Readonly<Record<DriftFeature, number>>;
  readonly label: 0 | 1;
}

const BOUNDARY_DEGREES = 30;
const X3_WEIGHT = 0.5;

export class ShiftingWorld {
  private readonly random: () => number;
  private readonly sharpness: number;
  private readonly before: Regime;
  private readonly after: Regime;

  constructor(options: WorldOptions) {
    for (const [name, value] of Object.entries({ rotationDegrees: options.rotationDegrees, meanShift: options.meanShift })) {
      if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
    }
    this.random = seededRandom(options.seed);
    this.sharpness = options.sharpness ?? 3;
    this.before = regime(BOUNDARY_DEGREES, 0);
    this.after = regime(BOUNDARY_DEGREES + options.rotationDegrees, options.meanShift);
  }

  /** One record and its label, from the world before or after the shift. */
  draw(shifted: boolean): Draw {
    const { angle, centre } = shifted ? this.after : this.before;
    const x1 = centre[0] + this.gaussian();
    const x2 = centre[1] + this.gaussian();
    const x3 = this.gaussian();
    const x4 = this.gaussian();
    const margin = Math.cos(angle) * (x1 - centre[0]) + Math.sin(angle) * (x2 - centre[1]) + X3_WEIGHT * x3;
    const label = this.random() < 1 / (1 + Math.exp(-this.sharpness * margin)) ? 1 : 0;
    return { features: { x1: round(x1), x2: round(x2), x3: round(x3), x4: round(x4) }, label };
  }

  private gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
  }
}

interface Regime {
  /** Direction of the boundary's normal, in radians. */
  readonly angle: number;
  /** Means of x1 and x2. */
  readonly centre: readonly [number, number];
}

/** The means move along (1, −1)/√2 · shift, so both x1 and x2 change. */
function regime(degrees: number, shift: number): Regime {
  return { angle: (degrees * Math.PI) / 180, centre: [shift / Math.SQRT2, -shift / Math.SQRT2] };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
