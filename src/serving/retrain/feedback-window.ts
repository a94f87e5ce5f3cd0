/**
 * The labelled feedback a retrain streamlet learns from: the newest `capacity` examples in a
 * ring, so memory stays bounded however long the stream runs, and a split of them into the
 * records a candidate trains on and the records it is judged on.
 */
import type { TrainingSet } from './trainer.js';

export interface LabelledExample<Data> {
  readonly record: Data;
  readonly label: number;
}

/** A sliding window over the newest labelled examples, oldest first. */
export class FeedbackWindow<Data> {
  private readonly ring: (LabelledExample<Data> | undefined)[];
  /** Index of the oldest example. */
  private first = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`a feedback window holds at least 1 example, got ${capacity}`);
    this.ring = new Array<LabelledExample<Data> | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the newest example; when full, the oldest leaves. */
  add(example: LabelledExample<Data>): void {
    this.ring[(this.first + this.count) % this.capacity] = example;
    if (this.count < this.capacity) this.count++;
    else this.first = (this.first + 1) % this.capacity;
  }

  /** Forgets every example; returns how many there were. */
  clear(): number {
    const dropped = this.count;
    this.ring.fill(undefined);
    this.first = 0;
    this.count = 0;
    return dropped;
  }

  /** The examples now held, oldest first: a copy, so the window may change while it is used. */
  snapshot(): LabelledExample<Data>[] {
    return Array.from({ length: this.count }, (_, i) => this.ring[(this.first + i) % this.capacity] as LabelledExample<Data>);
  }
}

/**
 * Holds out `share` of the examples, evenly spread over them (every fifth one for 0.2), so the
 * held-out records span the same time as the training records: exactly ⌊n·share⌋ are held out.
 */
export function splitHoldout<Data>(examples: readonly LabelledExample<Data>[], share: number): { training: TrainingSet<Data>; holdout: TrainingSet<Data> } {
  const training = { records: [] as Data[], labels: [] as number[] };
  const holdout = { records: [] as Data[], labels: [] as number[] };
  examples.forEach((example, i) => {
    const into = Math.floor((i + 1) * share) > Math.floor(i * share) ? holdout : training;
    into.records.push(example.record);
    into.labels.push(example.label);
  });
  return { training, holdout };
}
