/**
 * What the bench is doing, while it does it: on a terminal one line per step, rewritten in
 * place while the step runs and left as its result when it ends; otherwise (a pipe, a CI log)
 * just the result lines.
 */
import { performance } from 'node:perf_hooks';

export interface ProgressLine {
  /** The step's state so far (a terminal shows it at once; otherwise it is dropped). */
  update(text: string): void;
  /** The step's result: the line as it stays. */
  done(text: string): void;
}

export class Progress {
  private readonly started: number;

  constructor(
    /** Where the clock starts: a child process measuring for a parent goes on from the parent's clock. */
    clockMs = 0,
    private readonly write: (text: string) => void = (text) => void process.stdout.write(text),
    private readonly live: boolean = process.stdout.isTTY === true,
  ) {
    this.started = performance.now() - clockMs;
  }

  /** ms since the bench started. */
  elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** A new step, labelled `label`. */
  step(label: string): ProgressLine {
    const prefix = () => `${this.clock()}  ${label}`;
    let shown = false;
    return {
      update: (text) => {
        if (!this.live) return;
        shown = true;
        this.write(`\r\x1b[2K${prefix()}  ${text}`);
      },
      done: (text) => {
        this.write(`${this.live && shown ? '\r\x1b[2K' : ''}${prefix()}  ${text}\n`);
      },
    };
  }

  /** A line of its own (a heading, a skipped configuration). */
  note(text: string): void {
    this.write(`${text}\n`);
  }

  /** Minutes and seconds since the bench started. */
  clock(): string {
    const seconds = Math.floor(this.elapsedMs() / 1000);
    return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
  }
}
