/**
 * What the dashboard's server sends its page: plain JSON, shared by the server (Node) and the
 * browser client. No imports, so both sides use it without pulling in the other's runtime.
 */

/** `GET /dashboard/graph`: the application's blueprint, resolved. */
export interface GraphView {
  /** The blueprint file's name without extension, e.g. `recommender`. */
  readonly application: string;
  readonly streamlets: readonly GraphStreamlet[];
  readonly topics: readonly GraphTopic[];
}

export interface GraphStreamlet {
  readonly name: string;
  readonly className: string;
  readonly description: string;
  readonly inlets: readonly string[];
  readonly outlets: readonly string[];
}

export interface GraphTopic {
  readonly name: string;
  readonly producers: readonly { readonly streamlet: string; readonly outlet: string }[];
  readonly consumers: readonly { readonly streamlet: string; readonly inlet: string }[];
}

/** One `snapshot` event of `GET /dashboard/events`. Counters are totals since start: rates are differences of two snapshots. */
export interface Snapshot {
  /** When it was taken, ms since the epoch (server clock). */
  readonly time: number;
  readonly streamlets: Readonly<Record<string, StreamletSample>>;
  readonly topics: Readonly<Record<string, TopicSample>>;
  /** Model swaps and rejected updates, newest first, at most {@link HISTORY_LIMIT}. */
  readonly history: readonly HistoryEvent[];
}

export interface StreamletSample {
  /** Records read, per inlet. */
  readonly in: Readonly<Record<string, number>>;
  /** Records emitted and accepted, per outlet. */
  readonly out: Readonly<Record<string, number>>;
  readonly deadLetters: number;
  readonly restarts: number;
  /** Model calls (a call scores a batch) and the seconds they took, over every model served. */
  readonly modelCalls?: { readonly count: number; readonly seconds: number };
  /** What the streamlet's `/state` view answers, when it has one. */
  readonly state?: unknown;
}

export interface TopicSample {
  /** Records not yet committed by the slowest consumer; null when the runtime does not say. */
  readonly depth: number | null;
}

export type HistoryEvent = SwapEvent | RejectedEvent;

export interface SwapEvent {
  readonly kind: 'swap';
  readonly streamlet: string;
  readonly model: string;
  readonly modelType: string;
  readonly description: string;
  /** When the model was installed (its `since`), ms since the epoch. */
  readonly at: number;
  /** The model it replaced; null for the first model seen. */
  readonly previous: string | null;
}

export interface RejectedEvent {
  readonly kind: 'rejected';
  readonly streamlet: string;
  readonly model: string;
  readonly modelType: string;
  readonly reason: string;
  readonly at: number;
}

export const HISTORY_LIMIT = 50;

/** The fields of a model-serving `/state` the dashboard reads (see `ModelSlot.state()`). */
export interface ServingState {
  readonly name: string | null;
  readonly description: string | null;
  readonly modelType: string | null;
  readonly since: number | null;
  readonly usage: number;
  readonly min: number;
  readonly max: number;
  readonly calls?: number;
  readonly averageDuration?: number;
  readonly source?: string | null;
  readonly updates?: {
    readonly accepted: number;
    readonly rejected: number;
    readonly lastRejected?: readonly { readonly modelName: string; readonly modelType: string; readonly reason: string; readonly at: number }[];
  };
  readonly recordsWithoutModel?: number;
  readonly failedRecords?: number;
}

/** True when a `/state` answer looks like a model-serving one. */
export function isServingState(state: unknown): state is ServingState {
  if (typeof state !== 'object' || state === null) return false;
  const s = state as Record<string, unknown>;
  return 'name' in s && 'since' in s && typeof s.usage === 'number';
}
