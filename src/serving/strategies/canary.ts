/**
 * Canary routing: a share `weight` of the records is scored by the candidates, the rest by the
 * primary, and every result on `out` names the model that scored it. With `key` routing a
 * record goes by the hash of its key, so a key meets the same model in every batch, on every
 * replica and after restarts (a user sees one model, not a mix); with `random` routing each
 * record is drawn on its own. Several candidates share the weight equally.
 */
import { keyHash } from './key-hash.js';
import { scoreGroups, type OutRouting, type ScoreOn, type ServingModels } from './routing.js';
import type { Scored } from './installed-model.js';

export interface CanarySettings<Data> {
  readonly weight: number;
  readonly routing: 'key' | 'random';
  readonly keyOf: (record: Data) => string;
  /** Draws in [0, 1) for `random` routing. */
  readonly random?: () => number;
}

export class CanaryRouting<Data, Output, Result> implements OutRouting<Data, Output, Result> {
  private toCandidates = 0;
  private toPrimary = 0;

  constructor(private readonly settings: CanarySettings<Data>) {}

  /** Where a record goes: -1 for the primary, else the index of the candidate. */
  route(record: Data, candidates: number): number {
    const { weight, routing, keyOf, random = Math.random } = this.settings;
    const point = routing === 'key' ? keyHash(keyOf(record)) : random();
    if (candidates === 0 || point >= weight) return -1;
    return Math.min(candidates - 1, Math.floor((point / weight) * candidates));
  }

  async score(records: readonly Data[], models: ServingModels<Data, Output, Result>, scoreOn: ScoreOn<Data, Output, Result>): Promise<Scored<Output, Result>> {
    const { primary, candidates } = models;
    if (candidates.length === 0) return scoreOn(primary, records);
    const groups = [primary, ...candidates].map((model) => ({ model, indices: [] as number[] }));
    records.forEach((record, i) => groups[this.route(record, candidates.length) + 1]?.indices.push(i));
    const routedToPrimary = groups[0]?.indices.length ?? 0;
    this.toPrimary += routedToPrimary;
    this.toCandidates += records.length - routedToPrimary;
    return scoreGroups(records, groups, scoreOn);
  }

  state(): object {
    const { weight, routing } = this.settings;
    return { weight, routing, routed: { primary: this.toPrimary, candidates: this.toCandidates } };
  }
}
