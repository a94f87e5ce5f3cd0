/**
 * `sluice serve` as a library call: a model server over a model repository, speaking Open
 * Inference (REST and gRPC), TF Serving (REST and gRPC) and Seldon Core 1 (REST), with
 * dynamic batching, Prometheus metrics at `GET /metrics`, and a graceful close.
 *
 *   const server = await startModelServer({ models: './models', httpPort: 0, grpcPort: 0 });
 *   console.log(server.urls.http, server.urls.grpc);
 *   await server.close();
 */
import { stat } from 'node:fs/promises';
import { parseConfigValues } from '../core/config.js';
import { messageOf, SluiceError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { PluginRegistry } from '../core/plugins.js';
import { defaultExecutors } from '../serving/executors/index.js';
import type { ExecutorRegistry } from '../serving/registry.js';
import { packageVersion } from '../util/package-root.js';
import { DataPlane } from './data-plane.js';
import { GrpcFront } from './grpc.js';
import { HttpFront, type MountedRoute } from './http.js';
import { ServerMetrics } from './metrics.js';
import type { GrpcProtocol, Protocol, RestProtocol } from './protocol.js';
import { openInferenceGrpc } from './protocols/open-inference-grpc.js';
import { openInferenceRest } from './protocols/open-inference-rest.js';
import { seldonRest } from './protocols/seldon-rest.js';
import { tfServingModelStatus, tfServingPrediction } from './protocols/tf-serving-grpc.js';
import { tfServingRest } from './protocols/tf-serving-rest.js';
import { ModelRepository } from './repository.js';
import { serverParameters, type ServerSettings } from './settings.js';

export interface ModelServerOptions extends ServerSettings {
  /** The model repository directory: one folder per model, numbered version folders inside. */
  readonly models: string;
  /** Default: every embedded executor (ONNX, TF.js, PMML). */
  readonly executors?: ExecutorRegistry;
  /** Default: {@link defaultProtocols}. */
  readonly protocols?: readonly Protocol[];
  readonly log?: Logger;
}

export interface ModelServer {
  /** `http://host:port` of the REST protocols and `/metrics`; `host:port` of the gRPC services. */
  readonly urls: { readonly http: string; readonly grpc: string };
  /** Stops taking requests, answers the ones in flight (up to the drain timeout), unloads every model. */
  close(): Promise<void>;
}

/** Every protocol Sluice ships. */
export function defaultProtocols(options: { readonly seldonModel?: string } = {}): Protocol[] {
  const seldon = options.seldonModel ? seldonRest({ defaultModel: options.seldonModel }) : seldonRest();
  return [openInferenceRest, tfServingRest, seldon, openInferenceGrpc, tfServingPrediction, tfServingModelStatus];
}

export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const { models, executors, protocols, log: givenLog, ...given } = options;
  const { values: settings, problems } = parseConfigValues(serverParameters, given);
  const [problem] = problems;
  if (problem) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: `model server option ${problem.key}`, message: problem.message });
  const isDirectory = await stat(models).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDirectory) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: 'model repository', message: `${models} is not a directory` });
  const log = givenLog ?? createLogger();

  const registry = new PluginRegistry<Protocol>('protocol');
  for (const protocol of protocols ?? defaultProtocols(settings)) registry.register(protocol.name, protocol);
  registry.seal();
  const registered = registry.names().map((name) => registry.get(name) as Protocol);

  let repository: ModelRepository | undefined;
  const metrics = new ServerMetrics({ queueDepths: () => repository?.queueDepths() ?? [], versions: () => repository?.reports() ?? [] });
  repository = await ModelRepository.open({
    root: models,
    executors: executors ?? defaultExecutors(),
    versionsServed: settings.versionsServed,
    pollIntervalMs: settings.pollIntervalMs,
    batching: { maxBatchSize: settings.maxBatchSize, delayMs: settings.batchDelayMs, maxQueue: settings.maxQueue },
    log,
    observer: metrics.repositoryObserver,
  });
  const opened = repository;
  const plane = new DataPlane(opened, { name: 'sluice', version: packageVersion(), extensions: ['model_repository'] });

  const routes: MountedRoute[] = registered
    .filter((p): p is RestProtocol => p.transport === 'rest')
    .flatMap((protocol) => protocol.routes(plane).map((route) => ({ ...route, protocol })));
  routes.push({
    method: 'GET',
    path: '/metrics',
    protocol: { name: 'metrics', errorBody: openInferenceRest.errorBody },
    handle: async () => {
      const { contentType, body } = await metrics.exposition();
      return { body, contentType };
    },
  });

  let http: HttpFront | undefined;
  let grpc: GrpcFront | undefined;
  try {
    http = await HttpFront.listen({
      host: settings.host,
      port: settings.httpPort,
      maxRequestSize: settings.maxRequestBytes,
      routes,
      fallback: { name: 'http', errorBody: openInferenceRest.errorBody },
      metrics,
      log,
    });
    grpc = await GrpcFront.listen({
      host: settings.host,
      port: settings.grpcPort,
      maxRequestSize: settings.maxRequestBytes,
      protocols: registered.filter((p): p is GrpcProtocol => p.transport === 'grpc'),
      plane,
      metrics,
      log,
    });
  } catch (err) {
    http?.stopAccepting();
    await opened.close();
    throw new SluiceError('SLUICE_ERR_SERVER_FAILED', { what: 'start', message: messageOf(err) }, { cause: err });
  }
  const urls = Object.freeze({ http: http.url, grpc: grpc.address });
  log.info('model server listening', { ...urls, models: opened.models(), protocols: registry.names() });

  const [httpFront, grpcFront] = [http, grpc];
  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    plane.stop();
    httpFront.stopAccepting();
    opened.flush();
    const deadline = AbortSignal.timeout(settings.drainTimeoutMs);
    await Promise.all([httpFront.drained(deadline), grpcFront.close(deadline)]);
    if (deadline.aborted) log.warn('drain timeout passed: cutting the requests still in flight', { drainTimeoutMs: settings.drainTimeoutMs });
    httpFront.close();
    await opened.close();
    log.info('model server stopped');
  };
  return { urls, close: () => (closing ??= shutdown()) };
}
