/**
 * A fleet of simulated machines whose sensors drift as a fault develops: the data behind the
 * predictive-maintenance example, used by the MQTT simulator and by the model's fit.
 *
 * Healthy machine: a slowly varying load (an AR(1) process) drives speed, temperature, vibration
 * and pressure together, plus independent sensor noise; so the readings are correlated, and a
 * reading that breaks their usual relation is anomalous even when each value alone is plausible.
 *
 * Degrading machine: from its fault's onset, a severity grows linearly from 0 to 1 over `ramp`
 * readings (then stays: the machine has failed), adding vibration and temperature (a worn
 * bearing) and losing a little pressure. Everything is seeded: the same options give the same
 * readings.
 */
import { gaussianSource, seededRandom } from '../../src/util/random.js';
import { sensorFeatures, type SensorReading } from './schemas.js';

export interface FleetOptions {
  /** Number of machines; default 20. */
  readonly machines?: number;
  /** Production lines the machines are spread over (round robin); default 4. */
  readonly lines?: number;
  /** Seed of everything drawn; default 7. */
  readonly seed?: number;
  /** Machines that develop a fault; default a fifth of them (at least one). 0 for a healthy fleet. */
  readonly degrading?: number;
  /** A fault starts at a reading drawn uniformly in [0, onset) of its machine; default 300. */
  readonly onset?: number;
  /** Readings from a fault's start to failure; default 600. */
  readonly ramp?: number;
  /** Timestamp of every machine's first reading, ms since the epoch; default 0. */
  readonly start?: number;
  /** Time between two readings of one machine, ms; default 100. */
  readonly intervalMs?: number;
}

/** What a degrading machine's fault adds at full severity. */
export const FAULT_EFFECT = { temperature: 14, vibration: 3.5, pressure: -0.3 } as const;

/** How strongly consecutive loads of a machine are correlated. */
const LOAD_PERSISTENCE = 0.95;

export interface MachinePlan {
  readonly machine: string;
  readonly line: string;
  /** Reading at which its fault starts; undefined for a healthy machine. */
  readonly faultOnset: number | undefined;
}

interface MachineState extends MachinePlan {
  load: number;
  sequence: number;
}

export class MachineFleet {
  readonly plans: readonly MachinePlan[];
  private readonly machines: MachineState[];
  private readonly gaussian: () => number;
  private readonly ramp: number;
  private readonly start: number;
  private readonly intervalMs: number;
  private next = 0;

  constructor(options: FleetOptions = {}) {
    const count = options.machines ?? 20;
    const lines = options.lines ?? 4;
    const degrading = options.degrading ?? Math.max(1, Math.round(count / 5));
    const onset = options.onset ?? 300;
    this.ramp = options.ramp ?? 600;
    this.start = options.start ?? 0;
    this.intervalMs = options.intervalMs ?? 100;
    if (!(Number.isSafeInteger(count) && count > 0)) throw new RangeError(`machines must be a positive integer, got ${count}`);
    if (!(Number.isSafeInteger(lines) && lines > 0)) throw new RangeError(`lines must be a positive integer, got ${lines}`);
    if (!(Number.isSafeInteger(degrading) && degrading >= 0 && degrading <= count)) {
      throw new RangeError(`degrading must be an integer within [0, ${count}] (the machines), got ${degrading}`);
    }
    if (!(onset > 0)) throw new RangeError(`onset must be positive, got ${onset}`);
    if (!(this.ramp > 0)) throw new RangeError(`ramp must be positive, got ${this.ramp}`);
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${this.intervalMs}`);
    const random = seededRandom(options.seed ?? 7);
    this.gaussian = gaussianSource(random);
    const faulty = new Set(shuffled(count, random).slice(0, degrading));
    const width = String(count).length < 2 ? 2 : String(count).length;
    this.machines = Array.from({ length: count }, (_, i) => ({
      machine: `m${String(i + 1).padStart(width, '0')}`,
      line: `line-${(i % lines) + 1}`,
      faultOnset: faulty.has(i) ? Math.floor(random() * onset) : undefined,
      load: this.gaussian(),
      sequence: 0,
    }));
    this.plans = this.machines.map(({ machine, line, faultOnset }) => ({ machine, line, faultOnset }));
  }

  /** The next reading: the machines take turns, so every machine reads once per round. */
  reading(): SensorReading {
    const state = this.machines[this.next] as MachineState;
    this.next = (this.next + 1) % this.machines.length;
    const g = this.gaussian;
    state.load = LOAD_PERSISTENCE * state.load + Math.sqrt(1 - LOAD_PERSISTENCE ** 2) * g();
    const load = state.load;
    const severity = this.severity(state, state.sequence);
    const reading: SensorReading = {
      machine: state.machine,
      line: state.line,
      sequence: state.sequence,
      timestamp: this.start + state.sequence * this.intervalMs,
      temperature: round(62 + 5 * load + 0.8 * g() + FAULT_EFFECT.temperature * severity, 3),
      vibration: round(2.2 + 0.35 * load + 0.12 * g() + FAULT_EFFECT.vibration * severity, 4),
      pressure: round(6 - 0.25 * load + 0.08 * g() + FAULT_EFFECT.pressure * severity, 4),
      rpm: round(1500 + 60 * load + 8 * g(), 2),
    };
    state.sequence++;
    return reading;
  }

  /** The fault's severity, 0 (healthy) to 1 (failed), of `machine` at its reading `sequence`. */
  severityOf(machine: string, sequence: number): number {
    const state = this.machines.find((m) => m.machine === machine);
    if (!state) throw new RangeError(`no machine ${machine} in the fleet`);
    return this.severity(state, sequence);
  }

  private severity(plan: MachinePlan, sequence: number): number {
    if (plan.faultOnset === undefined || sequence < plan.faultOnset) return 0;
    return Math.min(1, (sequence - plan.faultOnset) / this.ramp);
  }
}

/** Readings of a healthy fleet as row-major rows of {@link sensorFeatures}: what the model is fit on. */
export function healthyRows(count: number, seed: number, machines = 50): Float64Array {
  const fleet = new MachineFleet({ machines, seed, degrading: 0 });
  const width = sensorFeatures.length;
  const rows = new Float64Array(count * width);
  for (let r = 0; r < count; r++) {
    const reading = fleet.reading();
    rows.set(
      sensorFeatures.map((f) => reading[f]),
      r * width,
    );
  }
  return rows;
}

/** Indices 0..count-1 in a seeded random order (Fisher–Yates). */
function shuffled(count: number, random: () => number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}


function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
