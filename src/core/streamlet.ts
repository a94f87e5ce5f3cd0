/**
 * The streamlet API. A streamlet is declared as plain data — typed inlets and outlets (Avro
 * schemas), config parameters, volume mounts — plus a `run(ctx)` function holding its logic.
 * The declaration is enough to validate a whole blueprint without running anything; the
 * context is all the logic sees, and it names no runtime.
 */
import type { ConfigParameters, ConfigValues } from './config.js';
import type { Logger } from './log.js';
import type { StreamletMetrics } from './metrics.js';
import type { Schema } from './schema.js';

export interface OutletSpec<T> {
  readonly schema: Schema<T>;
  /** Partition key: records with equal keys keep their order on every runtime. */
  readonly key?: (value: T) => string;
}

export interface VolumeMountSpec {
  readonly description: string;
  /** Path inside a container (used by deployment manifests). */
  readonly path: string;
}

// `any` in these constraints only lets concrete schema and outlet types be assigned to them;
// every public signature below is typed by the concrete declaration.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnySchema = Schema<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOutlet = OutletSpec<any>;

export type InletSpecs = Readonly<Record<string, AnySchema>>;
export type OutletSpecs = Readonly<Record<string, AnyOutlet>>;
export type VolumeMountSpecs = Readonly<Record<string, VolumeMountSpec>>;

type InletValue<S> = S extends Schema<infer T> ? T : never;
type OutletValue<S> = S extends OutletSpec<infer T> ? T : never;

export interface BatchOptions {
  /** Most records in one batch. */
  readonly maxSize?: number;
  /** How long to wait for more records once the first is there, in ms (0: take what is there). */
  readonly maxWait?: number;
  /** Ends the iteration early; what was not committed is delivered again later. */
  readonly signal?: AbortSignal;
}

/**
 * Records of one inlet. Iterate it once, per record or per batch; a record (or batch) is
 * committed when the loop asks for the next one, so await everything you emit for it first:
 * that is what makes delivery at-least-once. The iteration ends when the upstream topic has
 * ended (on shutdown, after everything before it was delivered).
 */
export interface Inlet<T> extends AsyncIterable<T> {
  readonly name: string;
  batches(options?: BatchOptions): AsyncIterable<readonly T[]>;
}

export type JsonHandler = () => unknown;

/**
 * Links outputs to the inputs they were made from. A runtime that deduplicates publishes
 * (JetStream) then gives each output an id derived from its input, so an input delivered again
 * after a crash does not duplicate its outputs: effectively-once, where at-least-once is the rule.
 */
export interface EmitOptions<In> {
  /** `origins[i]` is the record, as read from an inlet of this streamlet, that `values[i]` was made from. */
  readonly origins?: readonly In[];
}

export interface StreamletContext<I extends InletSpecs, O extends OutletSpecs, C extends ConfigParameters, V extends VolumeMountSpecs> {
  /** The streamlet's name in the blueprint. */
  readonly name: string;
  readonly config: ConfigValues<C>;
  readonly log: Logger;
  /** Aborted when the application stops. Sources end their loop on it; processors just drain their inlets. */
  readonly signal: AbortSignal;
  inlet<K extends keyof I & string>(name: K): Inlet<InletValue<I[K]>>;
  /** Resolves when the runtime has accepted the record: awaiting it is the backpressure. */
  emit<K extends keyof O & string>(outlet: K, value: OutletValue<O[K]>, options?: { readonly origin?: InletValue<I[keyof I]> }): Promise<void>;
  emitAll<K extends keyof O & string>(outlet: K, values: readonly OutletValue<O[K]>[], options?: EmitOptions<InletValue<I[keyof I]>>): Promise<void>;
  /** The local directory behind a declared volume mount (created if missing). */
  volumePath(mount: keyof V & string): string;
  /** Counters, histograms and gauges served at `GET /metrics`, labelled with this streamlet. */
  readonly metrics: StreamletMetrics;
  /** Serves `GET /<streamlet-name><path>` (and `GET <path>` when no other streamlet claims it) as JSON. */
  exposeJson(path: string, handler: JsonHandler): void;
}

export interface StreamletDefinition<
  I extends InletSpecs = InletSpecs,
  O extends OutletSpecs = OutletSpecs,
  C extends ConfigParameters = ConfigParameters,
  V extends VolumeMountSpecs = VolumeMountSpecs,
> {
  readonly description: string;
  readonly inlets: I;
  readonly outlets: O;
  readonly config: C;
  readonly volumeMounts: V;
  /** The logic: returns when its work is done (a source: when `ctx.signal` aborts; a processor: when its inlets end). */
  run(ctx: StreamletContext<I, O, C, V>): Promise<void>;
}

/** Any streamlet, as the blueprint and the runtimes handle it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStreamlet = StreamletDefinition<InletSpecs, OutletSpecs, ConfigParameters, any>;

export function defineStreamlet<
  const I extends InletSpecs = Record<never, never>,
  const O extends OutletSpecs = Record<never, never>,
  const C extends ConfigParameters = Record<never, never>,
  const V extends VolumeMountSpecs = Record<never, never>,
>(definition: {
  description: string;
  inlets?: I;
  outlets?: O;
  config?: C;
  volumeMounts?: V;
  run(ctx: StreamletContext<I, O, C, V>): Promise<void>;
}): StreamletDefinition<I, O, C, V> {
  return Object.freeze({
    description: definition.description,
    inlets: Object.freeze(definition.inlets ?? ({} as I)),
    outlets: Object.freeze(definition.outlets ?? ({} as O)),
    config: Object.freeze(definition.config ?? ({} as C)),
    volumeMounts: Object.freeze(definition.volumeMounts ?? ({} as V)),
    run: definition.run,
  });
}

export function outlet<T>(schema: Schema<T>, key?: (value: T) => string): OutletSpec<T> {
  return Object.freeze(key ? { schema, key } : { schema });
}

/** A module of streamlet classes, e.g. the recommender example: class name → definition. */
export type StreamletPackage = Readonly<Record<string, AnyStreamlet>>;
