/**
 * Server-side dynamic batching for one servable: concurrent requests queue, and one model call
 * scores as many of them as fit, concatenated along dimension 0; each request gets its own rows
 * of the result back.
 *
 * A batch starts when the queued rows reach `maxBatchSize`, when the oldest request has waited
 * `delayMs`, or at once when a model call ends and requests are waiting (they waited for the
 * call already). One model call runs at a time per servable: the embedded executors compute on
 * the event loop's thread, so a second concurrent call would only wait its turn, while a queue
 * lets the next batch grow. The queue is bounded: a request beyond `maxQueue` is refused at once.
 */
import { SluiceError } from '../core/errors.js';
import type { NamedTensors, Tensor } from '../serving/tensor.js';
import { Notifier } from '../util/notifier.js';
import { concatRows, rowsOf, sliceRows } from '../serving/tensor-rows.js';
import type { Servable } from './servable.js';

export interface BatchingOptions {
  /** Most rows one model call scores (a single larger request is still scored, alone). */
  readonly maxBatchSize: number;
  /** Longest wait, in ms, for a batch to fill before it is scored; 0: the next event-loop turn. */
  readonly delayMs: number;
  /** Most requests waiting for a model call. */
  readonly maxQueue: number;
}

export interface BatchObserver {
  /** One model call: how many rows it scored and how many requests they came from. */
  called(rows: number, requests: number): void;
}

interface Pending {
  readonly inputs: NamedTensors;
  readonly rows: number;
  /** Requests with the same key can be concatenated: same tensor names, dtypes and row shapes. */
  readonly key: string;
  readonly resolve: (outputs: NamedTensors) => void;
  readonly reject: (error: unknown) => void;
}

export class Batcher {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private running = false;
  private draining = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly idle = new Notifier();

  /**
   * @param batchable whether requests may be joined: every input and output of the servable has a free first dimension.
   * @param names model and version, for the queue-full error.
   */
  constructor(
    private readonly servable: Servable,
    private readonly options: BatchingOptions,
    private readonly batchable: boolean,
    private readonly names: { readonly modelName: string; readonly version: string },
    private readonly observer: BatchObserver,
  ) {}

  /** Requests waiting for a model call. */
  get depth(): number {
    return this.queue.length;
  }

  /** Scores `inputs` (checked against the signature by the caller), batched with whatever else is queued. */
  submit(inputs: NamedTensors): Promise<NamedTensors> {
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(new SluiceError('SLUICE_ERR_QUEUE_FULL', { ...this.names, limit: this.options.maxQueue }));
    }
    return new Promise((resolve, reject) => {
      const tensors = Object.values(inputs);
      const rows = tensors[0] ? rowsOf(tensors[0]) : 0;
      this.queue.push({ inputs, rows, key: batchKey(inputs), resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  /** Scores everything queued without waiting for batches to fill; resolves when no call is running or waiting. */
  async drain(): Promise<void> {
    this.draining = true;
    this.schedule();
    while (this.running || this.queue.length > 0) await this.idle.wait();
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const now = this.draining || !this.batchable || this.queuedRows >= this.options.maxBatchSize;
    if (now || this.options.delayMs <= 0) {
      if (this.timer && !now) return;
      this.clearTimer();
      this.timer = setImmediate(() => void this.run());
    } else {
      this.timer ??= setTimeout(() => void this.run(), Math.max(1, Math.round(this.options.delayMs)));
    }
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.running) return;
    const batch = this.take();
    if (batch.length === 0) return;
    this.running = true;
    try {
      await this.score(batch);
    } finally {
      this.running = false;
      this.idle.notifyAll();
      // Requests that queued during the call waited for it already: no delay for them.
      if (this.queue.length > 0) {
        this.clearTimer();
        this.timer = setImmediate(() => void this.run());
      }
    }
  }

  /** The oldest request and the compatible ones right behind it, up to `maxBatchSize` rows. */
  private take(): Pending[] {
    const first = this.queue.shift();
    if (!first) return [];
    const batch = [first];
    let rows = first.rows;
    if (this.batchable) {
      for (let next = this.queue[0]; next && next.key === first.key && rows + next.rows <= this.options.maxBatchSize; next = this.queue[0]) {
        batch.push(next);
        rows += next.rows;
        this.queue.shift();
      }
    }
    this.queuedRows -= rows;
    return batch;
  }

  private async score(batch: readonly Pending[]): Promise<void> {
    if (batch.length === 1) return this.scoreAlone(batch[0] as Pending);
    const rows = batch.reduce((sum, p) => sum + p.rows, 0);
    const inputs: Record<string, Tensor> = {};
    for (const name of Object.keys(batch[0]?.inputs ?? {})) inputs[name] = concatRows(batch.map((p) => p.inputs[name] as Tensor));
    let outputs: NamedTensors;
    try {
      outputs = await this.servable.infer(inputs);
    } catch {
      // One bad request must not fail the others: each is scored alone, and only it fails.
      for (const pending of batch) await this.scoreAlone(pending);
      return;
    }
    this.observer.called(rows, batch.length);
    if (Object.values(outputs).some((t) => rowsOf(t) !== rows)) {
      // The model's outputs are not one row per input row: they cannot be split, so score each alone.
      for (const pending of batch) await this.scoreAlone(pending);
      return;
    }
    let start = 0;
    for (const pending of batch) {
      const part: Record<string, Tensor> = {};
      for (const [name, tensor] of Object.entries(outputs)) part[name] = sliceRows(tensor, start, pending.rows);
      start += pending.rows;
      pending.resolve(part);
    }
  }

  private async scoreAlone(pending: Pending): Promise<void> {
    try {
      const outputs = await this.servable.infer(pending.inputs);
      this.observer.called(pending.rows, 1);
      pending.resolve(outputs);
    } catch (err) {
      pending.reject(err);
    }
  }
}

function batchKey(inputs: NamedTensors): string {
  return Object.keys(inputs)
    .sort()
    .map((name) => {
      const t = inputs[name] as Tensor;
      return `${name}:${t.dtype}:${t.shape.slice(1).join('x')}`;
    })
    .join('|');
}
