import { HISTORY_LIMIT, type HistoryEvent, type ServingState } from './protocol.js';

interface Seen {
  readonly name: string | null;
  readonly since: number | null;
  readonly rejected: number;
}

/**
 * Model swaps and rejected updates, learned by comparing successive `/state` answers of each
 * model-serving streamlet: a swap is a new (`name`, `since`), a rejection a higher
 * `updates.rejected` count (the reasons come from `updates.lastRejected`). Bounded: the newest
 * {@link HISTORY_LIMIT} events.
 */
export class ModelHistory {
  private readonly seen = new Map<string, Seen>();
  private readonly history: HistoryEvent[] = [];

  constructor(private readonly limit = HISTORY_LIMIT) {}

  observe(streamlet: string, state: ServingState): void {
    const before = this.seen.get(streamlet);
    const rejected = state.updates?.rejected ?? 0;
    this.seen.set(streamlet, { name: state.name, since: state.since, rejected });

    const added: HistoryEvent[] = [];
    // Several rejections between two looks: the state keeps the newest few, newest first.
    const newRejections = rejected - (before?.rejected ?? 0);
    if (newRejections > 0) {
      for (const r of (state.updates?.lastRejected ?? []).slice(0, newRejections)) {
        added.push({ kind: 'rejected', streamlet, model: r.modelName, modelType: r.modelType, reason: r.reason, at: r.at });
      }
    }
    if (state.name !== null && (state.name !== before?.name || state.since !== before?.since)) {
      added.push({
        kind: 'swap',
        streamlet,
        model: state.name,
        modelType: state.modelType ?? '',
        description: state.description ?? '',
        at: state.since ?? Date.now(),
        previous: before?.name ?? null,
      });
    }
    if (added.length === 0) return;
    added.sort((a, b) => b.at - a.at);
    this.history.unshift(...added);
    if (this.history.length > this.limit) this.history.length = this.limit;
  }

  /** Newest first. */
  events(): readonly HistoryEvent[] {
    return [...this.history];
  }
}
