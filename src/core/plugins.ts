import { SluiceError } from './errors.js';

/**
 * One host for every kind of plugin (executors, runtimes, protocols, egresses): plugins
 * register by name before use; a duplicate or a registration after `seal()` is a coded error,
 * so a misconfigured process fails at start, not on the first record.
 */
export class PluginRegistry<T> {
  private readonly entries = new Map<string, T>();
  private sealed = false;

  constructor(readonly kind: string) {}

  register(name: string, plugin: T): this {
    if (this.sealed) throw new SluiceError('SLUICE_ERR_PLUGIN_LATE', { kind: this.kind, name });
    if (this.entries.has(name)) throw new SluiceError('SLUICE_ERR_PLUGIN_DUPLICATE', { kind: this.kind, name });
    this.entries.set(name, plugin);
    return this;
  }

  /** No registrations after this; lookups may start. */
  seal(): this {
    this.sealed = true;
    return this;
  }

  get(name: string): T | undefined {
    return this.entries.get(name);
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }
}
