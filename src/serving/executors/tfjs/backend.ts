/**
 * The TF.js backend an executor computes on.
 *
 * TF.js keeps one engine per process with one *active* backend; tensors remember the backend
 * that holds them, and an op on a tensor held elsewhere first copies it over. An executor
 * initialises its backend once, and before every piece of synchronous TF.js work makes it the
 * active one (a cheap check; another TF.js user in the process may have switched it), so a
 * model's weights stay where they were loaded and are never copied per call.
 */
import type { EventEmitter } from 'node:events';
import * as tf from '@tensorflow/tfjs';
// Registers the 'wasm' backend with the engine (a side effect of the import). The backend's
// .wasm binaries ship in the package and load from disk: nothing is downloaded.
import '@tensorflow/tfjs-backend-wasm';

/** `wasm`: WebAssembly with SIMD. `cpu`: TF.js's pure-JavaScript kernels. */
export type TfjsBackend = 'wasm' | 'cpu';

export class BackendSelector {
  #ready: Promise<void> | undefined;

  constructor(readonly name: TfjsBackend) {}

  /**
   * Runs synchronous TF.js work on this backend. The work starts in the same turn as the switch
   * to the backend, so nothing can switch it away in between.
   */
  async run<T>(work: () => T): Promise<T> {
    await (this.#ready ??= this.#initialise());
    for (;;) {
      if (tf.getBackend() === this.name) return work();
      // Once a backend is initialised, setBackend switches to it synchronously, before its promise
      // settles. Waiting for that promise before working would let another executor switch back
      // meanwhile, and two executors on different backends would chase each other for ever.
      const switching = tf.setBackend(this.name);
      if (tf.getBackend() === this.name) {
        switching.catch(() => undefined); // already done: its promise says only `true`
        return work();
      }
      if (!(await switching)) throw new Error(`the TF.js backend '${this.name}' cannot be activated`);
    }
  }

  async #initialise(): Promise<void> {
    let ok = false;
    try {
      ok = await tf.setBackend(this.name);
    } finally {
      if (!ok) this.#ready = undefined; // the next load tries again
      removeEmscriptenListeners();
    }
    if (!ok) throw new Error(`the TF.js backend '${this.name}' could not be initialised`);
  }
}

const processEvents = ['unhandledRejection', 'uncaughtException'] as const;
const emitter: EventEmitter = process;

/**
 * The wasm backend's Emscripten glue, when it starts, adds process-wide listeners that rethrow
 * every unhandled rejection and uncaught exception. They would overrule the application's own
 * handlers (a rejection it means to log would crash the process) and print a line of minified
 * glue code with every crash. Node's defaults already crash on both, so these listeners (told
 * apart by their code) are removed, whoever started the backend (`tf.ready()` starts it too).
 */
function removeEmscriptenListeners(): void {
  for (const event of processEvents) {
    for (const listener of emitter.listeners(event) as ((...args: unknown[]) => void)[]) {
      const code = String(listener).replace(/\s+/g, '');
      if (/^function\(reason\)\{throwreason;?\}$/.test(code) || /^function\(ex\)\{if\(!\(exinstanceofExitStatus\)\)\{throwex;?\}\}$/.test(code)) {
        emitter.removeListener(event, listener);
      }
    }
  }
}
