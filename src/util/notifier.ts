/**
 * Wakes every waiter when something changed (data arrived, room freed). Waiters re-check
 * their condition after waking, so a spurious wake-up is harmless.
 */
export class Notifier {
  private waiters = new Set<() => void>();

  notifyAll(): void {
    const woken = this.waiters;
    this.waiters = new Set();
    for (const wake of woken) wake();
  }

  /** Resolves on the next notify, when `timeoutMs` passes, or when `signal` aborts. */
  wait(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        this.waiters.delete(done);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
