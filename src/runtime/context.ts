import { messageOf, SluiceError } from '../core/errors.js';
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

/**
 * Identities of the records this incarnation read, by decoded value: what `origins` name when
 * outputs are linked to inputs. Only records with an id (from a runtime that gives them) are kept.
 */
class Origins {
  private readonly ids = new WeakMap<object, string>();
  private identified = false;

  remember(value: unknown, id: string | undefined): void {
    if (id === undefined || typeof value !== 'object' || value === null) return;
    this.ids.set(value, id);
    this.identified = true;
  }

  /** The id of an origin; throws when ids are known here and this origin is not among them. */
  idOf(origin: unknown, where: string, index: number): string | undefined {
    const id = typeof origin === 'object' && origin !== null ? this.ids.get(origin) : undefined;
    if (id === undefined && this.identified) {
      throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', {
        message: `emit to ${where}: origin ${index} is not a record read from an inlet of this streamlet (pass the values the inlet gave)`,
      });
    }
    return id;
  }
}

export function createContext(wiring: ContextWiring): AnyContext {
  const inlets = new Map<string, Inlet<unknown>>();
  const origins = new Origins();
  const outlets = new Map<string, BoundOutlet>();
  const outlet = (name: string): BoundOutlet => {
    let bound = outlets.get(name);
    if (!bound) {
      const wired = wiring.outlets.get(name);
      if (!wired) throw new Error(`streamlet ${wiring.name} has no outlet ${name} (outlets: ${[...wiring.outlets.keys()].join(', ') || 'none'})`);
      bound = { name, ...wired, emitted: wiring.metrics.outlet(wiring.name, name), outputsPerOrigin: new WeakMap() };
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
        inlet = new HostInlet(name, wired, wiring, origins);
        inlets.set(name, inlet);
      }
      return inlet as Inlet<never>;
    },
    emit: (name: string, value: unknown, options?: { readonly origin?: unknown }) =>
      emitAll(wiring, outlet(name), [value], options?.origin === undefined ? undefined : { ids: origins, of: [options.origin] }),
    emitAll: (name: string, values: readonly unknown[], options?: { readonly origins?: readonly unknown[] }) =>
      emitAll(wiring, outlet(name), values, options?.origins === undefined ? undefined : { ids: origins, of: options.origins }),
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
  /** Outputs emitted so far per origin record: the `k` of the next output's id. */
  readonly outputsPerOrigin: WeakMap<object, number>;
}

async function emitAll(
  wiring: ContextWiring,
  outlet: BoundOutlet,
  values: readonly unknown[],
  linked?: { readonly ids: Origins; readonly of: readonly unknown[] },
): Promise<void> {
  const where = `${wiring.name}.${outlet.name}`;
  if (linked && linked.of.length !== values.length) {
    throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', {
      message: `emit to ${where}: ${linked.of.length} origin(s) for ${values.length} value(s); give one origin per value`,
    });
  }
  if (!outlet.sink || values.length === 0) return;
  const records: RawRecord[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const origin = linked?.of[i];
    // A wrong origin is the streamlet's bug about its inputs, not a bad output: it fails the call.
    const originId = linked?.ids.idOf(origin, where, i);
    try {
      outlet.spec.schema.validate(value, where);
      records.push(
        originId === undefined
          ? new ProducedRecord(value, outlet.spec.schema, outlet.spec.key)
          : new LinkedRecord(value, outlet.spec.schema, outlet.spec.key, outputId(outlet, origin as object, originId, where)),
      );
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

/** A produced record linked to the input it was made from. */
class LinkedRecord extends ProducedRecord {
  constructor(
    value: unknown,
    schema: OutletSpec<unknown>['schema'],
    key: OutletSpec<unknown>['key'],
    readonly id: string,
  ) {
    super(value, schema, key as ((value: never) => string) | undefined);
  }
}

/** `<input id>/<streamlet>.<outlet>/<k>`: the k-th output this outlet made from that input, the same on every redelivery. */
function outputId(outlet: BoundOutlet, origin: object, originId: string, where: string): string {
  const k = outlet.outputsPerOrigin.get(origin) ?? 0;
  outlet.outputsPerOrigin.set(origin, k + 1);
  return `${originId}/${where}/${k}`;
}

class HostInlet implements Inlet<unknown> {
  private iterating = false;
  private readonly received: { inc(n: number): void };

  constructor(
    readonly name: string,
    private readonly wired: InletWiring,
    private readonly wiring: ContextWiring,
    private readonly origins: Origins,
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
            const value = this.wired.read(record, where);
            this.origins.remember(value, record.id);
            values.push(value);
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
