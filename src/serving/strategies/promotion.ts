/**
 * Promotion, candidate → primary, as a model update like any other: a descriptor on `in-1` whose
 * `modelSourceLocation` is `candidate:<name>` says "the model lives in this streamlet's
 * candidates: serve it as the primary". The candidate already loaded (and passed the gate)
 * becomes the primary without loading again; the old primary is retired.
 */
import type { ModelDescriptor } from '../descriptor.js';

const SCHEME = 'candidate:';

/** The update that promotes candidate `modelName`. */
export function promotion(modelName: string): ModelDescriptor {
  return {
    modelName,
    description: `promote candidate ${modelName}`,
    // The type is the candidate's own; the promotion does not load anything.
    modelType: 'UNKNOWN',
    modelBytes: null,
    modelSourceLocation: `${SCHEME}${modelName}`,
  };
}

/** The candidate a descriptor promotes, or undefined when it is an ordinary update. */
export function promotedCandidate(descriptor: ModelDescriptor): string | undefined {
  const location = descriptor.modelSourceLocation;
  return location?.startsWith(SCHEME) ? location.slice(SCHEME.length) : undefined;
}
