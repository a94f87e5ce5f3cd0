/**
 * How a batch is answered on `out` from the primary model and the candidates: the contract
 * canary and speculative scoring implement, and the plain one (the primary answers everything).
 */
import type { InstalledModel, Scored } from './installed-model.js';

export interface ServingModels<Data, Output, Result> {
  readonly primary: InstalledModel<Data, Output, Result> | undefined;
  readonly candidates: readonly InstalledModel<Data, Output, Result>[];
}

/** Scores records with a model, or answers them with the no-model result when there is none. */
export type ScoreOn<Data, Output, Result> = (
  model: InstalledModel<Data, Output, Result> | undefined,
  records: readonly Data[],
) => Promise<Scored<Output, Result>>;

export interface OutRouting<Data, Output, Result> {
  score(records: readonly Data[], models: ServingModels<Data, Output, Result>, scoreOn: ScoreOn<Data, Output, Result>): Promise<Scored<Output, Result>>;
  /** What `/state` shows about the routing; undefined when there is nothing to show. */
  state(): object | undefined;
}

/** The primary answers every record: no strategy, and shadow (whose candidates never answer on out). */
export function primaryOnly<Data, Output, Result>(): OutRouting<Data, Output, Result> {
  return { score: (records, models, scoreOn) => scoreOn(models.primary, records), state: () => undefined };
}

/** Scores each group of records (indices into `records`) with its model and puts the answers back in input order. */
export async function scoreGroups<Data, Output, Result>(
  records: readonly Data[],
  groups: readonly { readonly model: InstalledModel<Data, Output, Result> | undefined; readonly indices: readonly number[] }[],
  scoreOn: ScoreOn<Data, Output, Result>,
): Promise<Scored<Output, Result>> {
  const parts = await Promise.all(
    groups.map((g) =>
      g.indices.length === 0
        ? undefined
        : scoreOn(
            g.model,
            g.indices.map((i) => records[i] as Data),
          ),
    ),
  );
  const merged: Scored<Output, Result> = { results: new Array(records.length), metadata: new Array(records.length), outputs: new Array(records.length) };
  groups.forEach((group, g) => {
    const part = parts[g];
    if (!part) return;
    group.indices.forEach((index, k) => {
      merged.results[index] = part.results[k] as Result;
      merged.metadata[index] = part.metadata[k] as Scored<Output, Result>['metadata'][number];
      merged.outputs[index] = part.outputs[k];
    });
  });
  return merged;
}
