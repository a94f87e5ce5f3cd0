/**
 * Sustainable throughput, found as Crayfish and Karimov et al. define it: the highest input rate
 * at which the pipeline keeps up, i.e. latency and lag stay bounded. The input rate is stepped
 * up geometrically from a low rate, a few seconds per step, until a step is not sustained; then
 * the gap between the last sustained rate and the first failed one is narrowed by bisection
 * (geometric means).
 */

/** What one step at a fixed input rate showed. */
export interface StepMeasurement {
  /** Records per second the producer was asked for. */
  readonly rate: number;
  readonly seconds: number;
  /** Lag (records created but not yet arrived at the sink) half-way through the step and at its end. */
  readonly lagMid: number;
  readonly lagEnd: number;
  /** 99th percentile of the step's latencies (creation → sink), ms; NaN when none arrived. */
  readonly p99: number;
  /** Whether every record the producer emitted in the step had its result within the drain time after it. */
  readonly complete: boolean;
}

export interface StepCriterion {
  /** Falling behind: the lag ends above this many seconds of input (and at least `minLagRecords`)… */
  readonly maxLagSeconds: number;
  readonly minLagRecords: number;
  /** …while results arrived, over the step's second half, at less than this share of the input rate. */
  readonly minArrivalShare: number;
  /** A step fails when its p99 latency exceeds this, in ms. */
  readonly maxP99Ms: number;
}

/**
 * The criterion the bench uses. A pipeline that keeps up has a steady lag (the records in flight)
 * and results arrive as fast as records are created; one that does not falls behind by
 * (rate − capacity) records every second. A step fails when its lag ends above a tenth of a
 * second of input (≥ 1,000 records) *and* rose over the step's second half by more than 5% of
 * the input (so neither a deep but steady pipeline nor one pause it is catching up from, a major
 * garbage collection or a busy neighbour, counts), or when its p99 passes 1 s, or when records
 * are still missing a drain time after the step. In a 2 s step, a pipeline 10% short of the
 * rate ends 0.2 s of input behind: it fails.
 */
export const defaultCriterion: StepCriterion = { maxLagSeconds: 0.1, minLagRecords: 1_000, minArrivalShare: 0.95, maxP99Ms: 1_000 };

export interface Verdict {
  readonly sustained: boolean;
  /** Why not, one line per failed test; empty when sustained. */
  readonly reasons: readonly string[];
}

/** Results per second over the step's second half: what was created in it, less what the lag grew by. */
export function arrivalRate(step: Pick<StepMeasurement, 'rate' | 'seconds' | 'lagMid' | 'lagEnd'>): number {
  return step.rate - (step.lagEnd - step.lagMid) / (step.seconds / 2);
}

export function judgeStep(step: StepMeasurement, criterion: StepCriterion = defaultCriterion): Verdict {
  const reasons: string[] = [];
  const lagBound = Math.max(criterion.minLagRecords, step.rate * criterion.maxLagSeconds);
  const arrivals = arrivalRate(step);
  if (step.lagEnd > lagBound && arrivals < criterion.minArrivalShare * step.rate) {
    reasons.push(
      `falling behind: lag ${Math.round(step.lagMid)} → ${Math.round(step.lagEnd)} records (bound ${Math.round(lagBound)}), ` +
        `results at ${((arrivals / step.rate) * 100).toFixed(0)}% of the input rate`,
    );
  }
  if (step.p99 > criterion.maxP99Ms) reasons.push(`p99 ${step.p99.toFixed(0)} ms over ${criterion.maxP99Ms} ms`);
  if (!step.complete) reasons.push('results still missing after the drain time');
  return { sustained: reasons.length === 0, reasons };
}

export interface RateSearchOptions {
  /** The first rate tried, records/s. */
  readonly start: number;
  /** Each step's rate over the previous one's while every step is sustained (e.g. 1.5). */
  readonly factor: number;
  /** Bisections between the last sustained and the first failed rate. */
  readonly refinements: number;
  /** Steps at most, refinements included. */
  readonly maxSteps: number;
}

export interface RateSearchResult {
  /** The highest sustained rate; undefined when no step was. */
  readonly sustainable: number | undefined;
  /** The lowest failed rate above it; undefined when no step failed within `maxSteps`. */
  readonly failedAt: number | undefined;
}

/**
 * Which rate to try next: `start × factor^i` while steps are sustained, `start / factor^i` while
 * they fail from the first on, then `refinements` geometric means between the bounds.
 */
export class RateSearch {
  private sustained: number | undefined;
  private failed: number | undefined;
  private steps = 0;
  private refined = 0;
  private pending: number | undefined;

  constructor(private readonly options: RateSearchOptions) {
    if (!(options.start > 0)) throw new RangeError(`the start rate must be positive, not ${options.start}`);
    if (!(options.factor > 1)) throw new RangeError(`the step factor must be above 1, not ${options.factor}`);
  }

  /** The next rate to try, or undefined when the search is over. */
  next(): number | undefined {
    if (this.pending !== undefined) return this.pending;
    if (this.steps >= this.options.maxSteps) return undefined;
    const { start, factor } = this.options;
    let rate: number | undefined;
    if (this.sustained === undefined) rate = this.failed === undefined ? start : this.failed / factor;
    else if (this.failed === undefined) rate = this.sustained * factor;
    else if (this.refined < this.options.refinements) rate = Math.sqrt(this.sustained * this.failed);
    this.pending = rate === undefined ? undefined : Math.round(rate);
    return this.pending;
  }

  /** What the step at the rate `next()` gave showed. */
  record(rate: number, sustained: boolean): void {
    if (rate !== this.pending) throw new Error(`a step at ${rate} records/s was not asked for (next: ${this.pending})`);
    const bounded = this.sustained !== undefined && this.failed !== undefined;
    if (bounded) this.refined++;
    if (sustained) this.sustained = rate;
    else this.failed = rate;
    this.steps++;
    this.pending = undefined;
  }

  result(): RateSearchResult {
    return { sustainable: this.sustained, failedAt: this.failed };
  }
}
