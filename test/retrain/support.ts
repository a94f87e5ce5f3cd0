import { driftAdapter } from '../../examples/drift/adapter.js';
import { DriftRecordSchema, LabelledRecordSchema, type DriftRecord, type LabelledRecord } from '../../examples/drift/schemas.js';
import { DRIFT_FEATURES, ShiftingWorld } from '../../examples/drift/world.js';
import type { Logger } from '../../src/core/log.js';
import type { AnyStreamlet } from '../../src/core/streamlet.js';
import type { DriftEvent } from '../../src/observe/drift/drift-event.js';
import type { ServingAdapter } from '../../src/serving/adapter.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';
import { defaultExecutors } from '../../src/serving/executors/index.js';
import { fieldsAdapter, type FieldValues } from '../../src/serving/fields-adapter.js';
import type { RetrainDecision } from '../../src/serving/retrain/decision.js';
import { retrainer } from '../../src/serving/retrain/retrainer.js';
import type { Trainer } from '../../src/serving/retrain/trainer.js';
import { auc } from '../../src/serving/validation/metrics.js';
import { startStreamlet, type StreamletHarness } from '../../src/testkit.js';
import { tempDir } from '../support/recommender.js';

export const executors = defaultExecutors();

/** Labelled records of the drift example's world, before or after its shift (rotation 90°, means moved by 1 sd). */
export function labelled(count: number, options: { shifted: boolean; seed: number; firstId?: number }): LabelledRecord[] {
  const world = new ShiftingWorld({ seed: options.seed, rotationDegrees: 90, meanShift: 1 });
  return Array.from({ length: count }, (_, i) => {
    const { features, label } = world.draw(options.shifted);
    return { record: { id: (options.firstId ?? 1) + i, ...features, generatedAt: 0 }, label, shifted: options.shifted };
  });
}

export function driftEvent(overrides: Partial<DriftEvent> = {}): DriftEvent {
  return {
    feature: 'x1',
    test: 'KS',
    statistic: 0.31,
    pValue: 1e-20,
    threshold: 0.002,
    drifted: true,
    degreesOfFreedom: null,
    windowIndex: 3,
    referenceSize: 1000,
    windowSize: 500,
    modelName: 'm',
    detectedAt: Date.now(),
    ...overrides,
  };
}

/** The PMML models an external trainer writes take one [n,1] tensor per field and give `predictions`. */
export const pmmlAdapter: ServingAdapter<DriftRecord, FieldValues, number | null> = fieldsAdapter<DriftRecord, number | null>(
  { inputs: Object.fromEntries(DRIFT_FEATURES.map((f) => [f, [f]])), outputs: [{ name: 'predictions', width: 1 }] },
  (_record, values) => values?.predictions?.[0] ?? null,
);

/** A retrain streamlet on the drift example's records, with both optional inlets. */
export function retrainOnDriftRecords(options: { trainer?: Trainer<DriftRecord>; adapter?: ServingAdapter<DriftRecord, FieldValues, unknown> } = {}) {
  return retrainer({
    feedback: LabelledRecordSchema,
    data: DriftRecordSchema,
    example: (l: LabelledRecord) => ({ record: l.record, label: l.label }),
    adapter: options.adapter ?? driftAdapter,
    executors,
    ...(options.trainer ? { trainer: options.trainer } : {}),
    drift: true,
    modelUpdates: true,
  });
}

/** The retrain streamlet under the testkit, named `retrain`, with fresh volumes unless given. */
export async function startRetrain(
  definition: AnyStreamlet,
  config: Readonly<Record<string, unknown>>,
  options: { readonly log?: Logger; readonly volumes?: { readonly models: string; readonly work: string } } = {},
): Promise<StreamletHarness & { volumes: { readonly models: string; readonly work: string } }> {
  const volumes = options.volumes ?? { models: tempDir('sluice-retrain-models-'), work: tempDir('sluice-retrain-work-') };
  const h = await startStreamlet(definition, { name: 'retrain', config, volumes, ...(options.log ? { log: options.log } : {}) });
  return Object.assign(h, { volumes });
}

export const decisions = (h: StreamletHarness) => h.outputs('decisions') as readonly RetrainDecision[];
export const published = (h: StreamletHarness) => h.outputs('out') as readonly ModelDescriptor[];

/** The AUC of a model on records of the world, scored through `adapter` as model-serving would. */
export async function aucOn(
  descriptor: ModelDescriptor,
  data: readonly LabelledRecord[],
  adapter: ServingAdapter<DriftRecord, FieldValues, unknown> = driftAdapter,
): Promise<number> {
  const model = await executors.load(descriptor);
  try {
    const records = data.map((l) => l.record);
    const outputs = adapter.fromOutputs(records, await model.infer(adapter.toInputs(records)));
    return auc(
      outputs.map((o) => Object.values(o)[0]?.[0] ?? Number.NaN),
      data.map((l) => l.label),
    );
  } finally {
    await model.unload();
  }
}
