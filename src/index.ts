/** Sluice's public API. */
export { config, type ConfigParameter, type ConfigValues } from './core/config.js';
export { SluiceError, errorTable, isSluiceError, type ErrorCode } from './core/errors.js';
export { createLogger, type Logger, type LogLevel } from './core/log.js';
export { defineSchema, incompatibility, type AvroValue, type Schema } from './core/schema.js';
export {
  defineStreamlet,
  outlet,
  type AnyStreamlet,
  type EmitOptions,
  type Inlet,
  type StreamletContext,
  type StreamletDefinition,
  type StreamletPackage,
} from './core/streamlet.js';
export type { Application } from './blueprint/application.js';
export { DeadLetter, DEAD_LETTERS_TOPIC } from './blueprint/dead-letter.js';
export { loadBlueprint } from './blueprint/validate.js';
export { builtinPackages, runApplication, verifyApplication, type ApplicationOptions } from './app.js';
export { renderDeployment, writeDeployment, type DeployOptions, type RenderedDeployment } from './deploy/deploy.js';
export type { ManifestFile, ManifestObject } from './deploy/manifests.js';
export { amqpEgress, type AmqpEgressOptions } from './connectors/amqp/egress.js';
export { amqpIngress, type AmqpIngressOptions } from './connectors/amqp/ingress.js';
export { fileEgress, type FileEgressOptions } from './connectors/file/egress.js';
export { fileIngress, type FileIngressOptions } from './connectors/file/ingress.js';
export { httpIngress, type HttpIngressOptions } from './connectors/http/ingress.js';
export { httpServing, type Correlation, type HttpServingOptions } from './connectors/http/serving.js';
export { mqttEgress, type MqttEgressOptions } from './connectors/mqtt/egress.js';
export { mqttIngress, type MqttIngressOptions } from './connectors/mqtt/ingress.js';
export { natsEgress, type NatsEgressOptions } from './connectors/nats/core-egress.js';
export { natsIngress, type NatsIngressOptions } from './connectors/nats/core-ingress.js';
export { jetStreamEgress, type JetStreamEgressOptions } from './connectors/nats/jetstream-egress.js';
export { jetStreamIngress, type JetStreamIngressOptions } from './connectors/nats/jetstream-ingress.js';
export { postgresEgress, type PostgresEgressOptions } from './connectors/postgres/egress.js';
export { redisStreamEgress, type RedisEgressOptions } from './connectors/redis/egress.js';
export { redisStreamIngress, type RedisIngressOptions } from './connectors/redis/ingress.js';
export { chiSquaredTwoSample, type ChiSquaredResult } from './observe/drift/chi-squared.js';
export { driftDetector, driftParameters, type DriftDetectorOptions } from './observe/drift/detector.js';
export { DriftEventSchema, type DriftEvent, type DriftTest } from './observe/drift/drift-event.js';
export { resolveFeatures, type Feature, type FeatureExtractor, type FeatureKind, type FeatureSpec, type FeatureSpecs } from './observe/drift/features.js';
export { kolmogorovSmirnov, type KsResult } from './observe/drift/kolmogorov-smirnov.js';
export { defaultDriftSettings, DriftMonitor, type DriftSettings, type DriftState } from './observe/drift/monitor.js';
export { OutlierModel, type OutlierMethod, type OutlierOptions, type OutlierScore } from './observe/drift/outlier.js';
export { OutlierScoreSchema, type OutlierScoreRecord } from './observe/drift/outlier-score.js';
export { outlierScorer, type OutlierScorerOptions } from './observe/drift/outlier-scorer.js';
export { populationStabilityIndex, PsiReference } from './observe/drift/psi.js';
export { chiSquaredSurvival, kolmogorovSurvival, regularizedGammaQ } from './observe/drift/special-functions.js';
export type { Attribution, Predict } from './observe/explain/attribution.js';
export { attribute, explainer, type ExplainerOptions } from './observe/explain/explainer.js';
export { ExplanationSchema, type Explanation, type ExplanationMethod } from './observe/explain/explanation.js';
export { integratedGradients } from './observe/explain/integrated-gradients.js';
export { kernelShap } from './observe/explain/kernel-shap.js';
export { ModelFeatures } from './observe/explain/model-features.js';
export { occlusion } from './observe/explain/occlusion.js';
export type { Outcome, RunningApplication } from './runtime/host.js';
export type { Runtime, RuntimeSink, RuntimeSource } from './runtime/runtime.js';
export type { ServingAdapter } from './serving/adapter.js';
export { ModelDescriptorSchema, modelTypes, type ModelDescriptor, type ModelType } from './serving/descriptor.js';
export type { Executor, LoadedModel, ModelMetadata } from './serving/executor.js';
export { defaultExecutors } from './serving/executors/index.js';
export { modelServing, type ModelServingOptions } from './serving/model-serving.js';
export { commandTrainer, type CommandTrainerSettings } from './serving/retrain/command-trainer.js';
export { RetrainDecisionSchema, type RetrainDecision, type RetrainOutcome, type RetrainTrigger } from './serving/retrain/decision.js';
export { denseClassifierTrainer, type DenseClassifierOptions } from './serving/retrain/dense-classifier.js';
export { retrainer, type RetrainerOptions } from './serving/retrain/retrainer.js';
export { retrainParameters } from './serving/retrain/settings.js';
export type { TrainedModel, Trainer, TrainingSet } from './serving/retrain/trainer.js';
export { ComparisonRecordSchema, type ComparisonRecord } from './serving/strategies/comparison.js';
export { promotion } from './serving/strategies/promotion.js';
export type { ValidationOptions, ValidationReport } from './serving/validation/gate.js';
export { labelledSet, readLabelledSet, type LabelledSet } from './serving/validation/labelled-set.js';
export { accuracy, auc, meanAbsoluteError, meanSquaredError } from './serving/validation/metrics.js';
export type { PredictionsOf } from './serving/validation/predictions.js';
export { ExecutorRegistry } from './serving/registry.js';
export { createRemoteExecutor, type RemoteExecutorOptions } from './serving/remote/remote-executor.js';
export type { RemoteModelType } from './serving/remote/location.js';
export { ModelResultMetadataSchema, NO_MODEL_ERROR, type ModelResultMetadata } from './serving/result-metadata.js';
export { tensor, type DType, type NamedTensors, type Tensor, type TensorSpec } from './serving/tensor.js';
export { defaultProtocols, startModelServer, type ModelServer, type ModelServerOptions } from './server/server.js';
export type { GrpcProtocol, Protocol, RestProtocol } from './server/protocol.js';
