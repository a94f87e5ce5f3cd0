/**
 * What `npm run bench` measures, in one registry:
 * - serving configurations, each a workload served by an executor on a runtime, measured by the
 *   Crayfish harness end to end (raw limit, batch-size sweep, stepped sustainable rate, latency
 *   at fractions of it);
 * - suites, benchmarks with their own method that other parts of Sluice bring (the JetStream
 *   runtime, external model servers, connectors): the bench runs whichever are present and
 *   prints their tables beside its own.
 *
 * A new runtime joins as a configuration whose `start` opens a {@link PipelineSession} on it; a
 * new benchmark of another kind joins as a {@link Suite}.
 */
import type { FlatOutOptions, PacedMeasurement, PacedOptions, SessionOptions, Throughput } from './harness/session.js';
import { ServingSession } from './harness/session.js';
import { connectorsSuite } from './extensions/connectors.js';
import { externalSuite } from './extensions/external.js';
import { natsSuite } from './extensions/nats.js';
import type { Progress } from './report/progress.js';
import type { Table } from './report/table.js';
import { ffnnWorkload } from './workloads/ffnn.js';
import { fraudWorkload } from './workloads/fraud.js';
import { recommenderWorkload } from './workloads/recommender.js';
import { executorLabels, type AnyWorkload, type ExecutorId } from './workloads/workload.js';

/** A running pipeline the harness drives: what a runtime has to offer to be measured. */
export interface PipelineSession {
  flatOut(options: FlatOutOptions): Promise<Throughput>;
  paced(options: PacedOptions): Promise<PacedMeasurement>;
  stop(): Promise<void>;
}

export interface ServingConfiguration {
  /** e.g. `recommender-onnx`: what `--only` names. */
  readonly id: string;
  readonly label: string;
  readonly workload: string;
  readonly executor: ExecutorId;
  /** e.g. `local`: what carries the records. */
  readonly runtime: string;
  /**
   * Builds the workload, a new one each call: the harness builds it once per configuration and
   * drops it after, so that one configuration's records do not weigh on the next one's garbage
   * collections (they made the FFNN's pipeline several times slower when they stayed).
   */
  buildWorkload(): AnyWorkload;
  /** Starts the pipeline serving `options.model` with the given batching, ready to score. */
  start(options: SessionOptions): Promise<PipelineSession>;
}

export interface SuiteContext {
  readonly quick: boolean;
  readonly progress: Progress;
}

/** What a suite measured: tables to print and show, plot data, and its raw figures for the JSON results. */
export interface SuiteResult {
  readonly tables: readonly Table[];
  /** Records/s by replica count (a runtime's scaling), for the replicas plot. */
  readonly replicas?: readonly { readonly series: string; readonly replicas: number; readonly recordsPerSecond: number }[];
  readonly data: unknown;
}

export interface Suite {
  readonly id: string;
  readonly label: string;
  /** Why it cannot run here (its module is not there yet, a service is down), or undefined. */
  unavailable(): Promise<string | undefined>;
  run(context: SuiteContext): Promise<SuiteResult>;
}

const workloads: Readonly<Record<string, () => AnyWorkload>> = {
  recommender: recommenderWorkload,
  fraud: fraudWorkload,
  ffnn: ffnnWorkload,
};

const local = (workload: string, executor: ExecutorId): ServingConfiguration => ({
  id: `${workload}-${executor}`,
  label: `${workload}, ${executorLabels[executor]}`,
  workload,
  executor,
  runtime: 'local',
  buildWorkload: workloads[workload] as () => AnyWorkload,
  start: (options) => ServingSession.start(options),
});

export const servingConfigurations: readonly ServingConfiguration[] = [
  local('recommender', 'onnx'),
  local('recommender', 'tfjs'),
  local('recommender', 'pmml'),
  local('fraud', 'onnx'),
  local('ffnn', 'onnx'),
];

export const suites: readonly Suite[] = [natsSuite, externalSuite, connectorsSuite];
