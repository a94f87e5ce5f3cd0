import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { AnyStreamlet, BatchOptions, Inlet, JsonHandler, OutletSpec, StreamletContext } from '../core/streamlet.js';
import type { ApplicationMetrics } from '../observe/metrics.js';
import type { DeadLetters } from './dead-letters.js';
import type { EndpointServer } from './endpoints.js';
import { ProducedRecord } from './produced-record.js';
import type { RawRecord, RuntimeSink, RuntimeSource } from './runtime.js';

export interface InletWiring {
  readonly topic: string;
  readonly source: RuntimeSource;
  /** The record's value as this inlet's schema reads it; throws SLUICE_ERR_RECORD_UNDECODABLE. */
  readonly read: (record: RawRecord, where: string) => unknown;
}

export interface OutletWiring {
  readonly spec: OutletSpec<unknown>;
  /** Absent for an outlet no topic reads: its records are discarded. */
  readonly sink: RuntimeSink | undefined;
}

/** Everything one run (incarnation) of a streamlet is wired to. */
export interface ContextWiring {
  readonly name: string;
  readonly definition: AnyStreamlet;
  readonly config: Readonly<Record<string, unknown>>;
  readonly volumes: Readonly<Record<string, string>>;
  readonly log: Logger;
  /** Aborted when the application stops: sources end. */
  readonly stopping: AbortSignal;
  /** Aborted when draining took too long: inlets end and waiting emits reject. */
  readonly killed: AbortSignal;
  readonly inlets: ReadonlyMap<string, InletWiring>;
  readonly outlets: ReadonlyMap<string, OutletWiring>;
  readonly deadLetters: DeadLetters;
  readonly endpoints: EndpointServer;
  readonly metrics: ApplicationMetrics;
  readonly batch: { readonly maxSize: number; readonly maxWait: number };
}

type AnyContext = StreamletContext<AnyStreamlet['inlets'], AnyStreamlet['outlets'], AnyStreamlet['config'], Record<string, never>>;

export function createContext(wiring: ContextWiring): AnyContext {
  const inlets = new Map<string, Inlet<unknown>>();
  const outlets = new Map<string, BoundOutlet>();
  const outlet = (name: string): BoundOutlet => {
    let bound = outlets.get(name);
    if (!bound) {
      const wired = wiring.outlets.get(name);
      if (!wired) throw new Error(`streamlet ${wiring.name} has no outlet ${name} (outlets: ${[...wiring.outlets.keys()].join(', ') || 'none'})`);
      bound = { name, ...wired, emitted: wiring.metrics.outlet(wiring.name, name) };
      outlets.set(name, bound);
    }
    return bound;
  };
  return {
    name: wiring.name,
    config: wiring.config as AnyContext['config'],
    log: wiring.log,
    signal: wiring.stopping,
    metrics: wiring.metrics.forStreamlet(wiring.name),
    inlet(name: string) {
      let inlet = inlets.get(name);
      if (!inlet) {
        const wired = wiring.inlets.get(name);
        if (!wired) throw new Error(`streamlet ${wiring.name} has no inlet ${name} (inlets: ${[...wiring.inlets.keys()].join(', ') || 'none'})`);
        inlet = new HostInlet(name, wired, wiring);
        inlets.set(name, inlet);
      }
      return inlet as Inlet<never>;
    },
    emit: (name: string, value: unknown) => emitAll(wiring, outlet(name), [value]),
    emitAll: (name: string, values: readonly unknown[]) => emitAll(wiring, outlet(name), values),
    volumePath(mount: string) {
      const path = wiring.volumes[mount];
      if (path === undefined) throw new Error(`streamlet ${wiring.name} declares no volume mount ${mount}`);
      return path;
    },
    exposeJson(path: string, handler: JsonHandler) {
      const local = path.startsWith('/') ? path : `/${path}`;
      wiring.endpoints.json(`/${wiring.name}${local}`, handler, wiring.name);
      wiring.endpoints.json(local, handler, wiring.name);
    },
  };
}

interface BoundOutlet extends OutletWiring {
  readonly name: string;
  readonly emitted: { inc(n: number): void };
}

async function emitAll(wiring: ContextWiring, outlet: BoundOutlet, values: readonly unknown[]): Promise<void> {
  if (!outlet.sink || values.length === 0) return;
  const where = `${wiring.name}.${outlet.name}`;
  const records: RawRecord[] = [];
  for (const value of values) {
    try {
      outlet.spec.schema.validate(value, where);
      records.push(new ProducedRecord(value, outlet.spec.schema, outlet.spec.key));
    } catch (err) {
      // An invalid output is the streamlet's bug, but one bad record must not stop the stream.
      wiring.metrics.deadLettered(wiring.name, outlet.name, 'encode');
      await wiring.deadLetters.write(
        { topic: where, streamlet: wiring.name, inlet: outlet.name, reason: messageOf(err), payload: Buffer.from(safeJson(value)) },
        wiring.killed,
      );
    }
  }
  if (records.length === 0) return;
  await outlet.sink.write(records, wiring.killed);
  outlet.emitted.inc(records.length);
}

class HostInlet implements Inlet<unknown> {
  private iterating = false;
  private readonly received: { inc(n: number): void };

  constructor(
    readonly name: string,
    private readonly wired: InletWiring,
    private readonly wiring: ContextWiring,
  ) {
    this.received = wiring.metrics.inlet(wiring.name, name);
  }

  async *batches(options: BatchOptions = {}): AsyncGenerator<readonly unknown[]> {
    if (this.iterating) throw new Error(`inlet ${this.wiring.name}.${this.name} is already being read: iterate an inlet once`);
    this.iterating = true;
    const signal = options.signal ? AbortSignal.any([options.signal, this.wiring.killed]) : this.wiring.killed;
    const pull = { maxSize: options.maxSize ?? this.wiring.batch.maxSize, maxWait: options.maxWait ?? this.wiring.batch.maxWait, signal };
    const where = `${this.wiring.name}.${this.name}`;
    let pending: { commit(): Promise<void> } | undefined;
    try {
      for (;;) {
        // Asking for the next batch means the previous one, and everything it produced, is done.
        await pending?.commit();
        pending = undefined;
        const batch = await this.wired.source.pull(pull);
        if (!batch || signal.aborted) return;
        this.received.inc(batch.records.length);
        const values: unknown[] = [];
        for (const record of batch.records) {
          try {
            values.push(this.wired.read(record, where));
          } catch (err) {
            this.wiring.metrics.deadLettered(this.wiring.name, this.name, 'decode');
            await this.wiring.deadLetters.write(
              { topic: this.wired.topic, streamlet: this.wiring.name, inlet: this.name, reason: messageOf(err), payload: record.payload },
              this.wiring.killed,
            );
          }
        }
        pending = batch;
        if (values.length > 0) yield values;
      }
    } finally {
      this.iterating = false;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<unknown> {
    for await (const batch of this.batches()) yield* batch;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
