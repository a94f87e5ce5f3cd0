import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';

/**
 * Producers and consumers of an in-memory topic can hand records to each other through promise
 * continuations alone, which never lets the event loop reach timers, sockets or signals: an
 * HTTP request or a SIGTERM would wait forever. Every path through a topic asks this to yield
 * once its time slice is used up.
 */
export class FairShare {
  private sliceStart = performance.now();

  constructor(private readonly sliceMs = 5) {}

  /** A promise to await when the slice is used up; `undefined` (no await needed) otherwise. */
  turn(): Promise<void> | undefined {
    const now = performance.now();
    if (now - this.sliceStart < this.sliceMs) return undefined;
    return setImmediate().then(() => {
      this.sliceStart = performance.now();
    });
  }
}
