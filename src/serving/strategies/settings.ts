/**
 * How a model-serving streamlet uses candidate models: their config parameters, and their values
 * checked together once at start. Which model is a candidate is decided by name: an update on
 * `in-1` whose `modelName` matches `candidates` joins the candidates instead of replacing the
 * primary model.
 */
import { config, type ConfigValues } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';

export const strategies = ['none', 'shadow', 'canary', 'speculative'] as const;
export type StrategyName = (typeof strategies)[number];
export const deciders = ['majority', 'average', 'confidence', 'first'] as const;
export type DeciderName = (typeof deciders)[number];

export const strategyParameters = {
  strategy: config.oneOf({
    description:
      'What candidate models do: none; shadow (score beside the primary, compared on the shadow outlet); canary (score a share of the records on out); speculative (every model scores, a decider picks)',
    values: strategies,
    default: 'none',
  }),
  candidates: config.string({
    description: 'Comma-separated model names (* matches any run of characters) whose updates on in-1 become candidates instead of replacing the primary',
    default: '',
  }),
  'max-candidates': config.integer({ description: 'Most candidates loaded at once; a new one beyond it retires the oldest', default: 1, min: 1, max: 16 }),
  'canary-weight': config.double({ description: 'Share of the records the canary candidates score (0 to 1)', default: 0.1, min: 0, max: 1 }),
  'canary-routing': config.oneOf({
    description: 'key: a record goes by the hash of its key, so a key always meets the same model; random: each record is drawn',
    values: ['key', 'random'] as const,
    default: 'key',
  }),
  'speculative-decider': config.oneOf({
    description:
      'majority: the largest group of models that decide alike; average: all models averaged; confidence: the model furthest from the decision threshold; first: the first model to answer',
    values: deciders,
    default: 'majority',
  }),
  'speculative-deadline': config.duration({
    description: 'How long speculative scoring waits for the models; those not done are left out of the decision (0: wait for all)',
    default: 0,
    min: 0,
    max: 60_000,
  }),
  'shadow-max-pending': config.integer({
    description: 'Batches the shadow candidates may be behind the primary; beyond it a batch is not shadowed (counted), so out never waits',
    default: 8,
    min: 1,
    max: 1024,
  }),
};

export interface StrategySettings {
  readonly strategy: StrategyName;
  /** True for a model name that plays the candidate role. */
  readonly isCandidate: (modelName: string) => boolean;
  readonly maxCandidates: number;
  readonly canary: { readonly weight: number; readonly routing: 'key' | 'random' };
  readonly speculative: { readonly decider: DeciderName; readonly deadlineMs: number };
  readonly shadowMaxPending: number;
}

/** The strategy settings, or SLUICE_ERR_CONFIG_INVALID naming the keys that do not go together. */
export function strategySettings(streamlet: string, values: ConfigValues<typeof strategyParameters>): StrategySettings {
  const invalid = (message: string) => new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: `streamlet ${streamlet} config`, message });
  const names = values.candidates.split(',').map((name) => name.trim());
  const listed = values.candidates.trim() !== '';
  if (listed && names.some((name) => name === '')) throw invalid(`candidates "${values.candidates}" has an empty name between commas`);
  if (values.strategy === 'none' && listed) {
    throw invalid(`candidates is "${values.candidates}" but strategy is none: set strategy to shadow, canary or speculative, or remove candidates`);
  }
  if (values.strategy !== 'none' && !listed) {
    throw invalid(`strategy ${values.strategy} needs candidates: the names of the models (on in-1) that play the candidate role`);
  }
  const patterns = listed ? names.map(namePattern) : [];
  return Object.freeze({
    strategy: values.strategy,
    isCandidate: (modelName: string) => patterns.some((p) => p.test(modelName)),
    maxCandidates: values['max-candidates'],
    canary: Object.freeze({ weight: values['canary-weight'], routing: values['canary-routing'] }),
    speculative: Object.freeze({ decider: values['speculative-decider'], deadlineMs: values['speculative-deadline'] }),
    shadowMaxPending: values['shadow-max-pending'],
  });
}

/** `fraud-*` → /^fraud-.*$/: `*` is the only wildcard, everything else is literal. */
function namePattern(name: string): RegExp {
  return new RegExp(
    `^${name
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}
