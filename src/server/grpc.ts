/**
 * The gRPC side of the model server: one @grpc/grpc-js server carrying every gRPC protocol's
 * service, each defined by the project's proto files (loaded at start with @grpc/proto-loader
 * from the package's `protos/` directory). Messages over the size limit are refused by gRPC
 * itself with RESOURCE_EXHAUSTED; every other failure is the error's own gRPC status.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { isSluiceError, messageOf, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { packageRoot } from '../util/package-root.js';
import type { DataPlane } from './data-plane.js';
import type { ServerMetrics } from './metrics.js';
import type { GrpcCall, GrpcProtocol } from './protocol.js';

/** How requests are decoded: the form every gRPC protocol module reads. */
const protoLoaderOptions: Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** Where the project's proto files are. */
export function protosDirectory(): string {
  return join(packageRoot(), 'protos');
}

export interface GrpcFrontOptions {
  readonly host: string;
  readonly port: number;
  readonly maxRequestSize: number;
  readonly protocols: readonly GrpcProtocol[];
  readonly plane: DataPlane;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
}

export class GrpcFront {
  private constructor(
    private readonly server: grpc.Server,
    readonly address: string,
  ) {}

  static async listen(options: GrpcFrontOptions): Promise<GrpcFront> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxRequestSize });
    const definitions = loadSync(
      options.protocols.flatMap((p) => p.protoFiles),
      { ...protoLoaderOptions, includeDirs: [protosDirectory()] },
    );
    for (const protocol of options.protocols) {
      const service = definitions[protocol.service] as grpc.ServiceDefinition | undefined;
      if (service === undefined || typeof service !== 'object' || 'format' in service) {
        throw new SluiceError('SLUICE_ERR_SERVER_FAILED', {
          what: `protocol ${protocol.name}`,
          message: `its proto files define no service ${protocol.service}`,
        });
      }
      server.addService(service, implementation(protocol, options));
    }
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    return new GrpcFront(server, `${host}:${port}`);
  }

  /** Takes no new calls, lets the running ones finish until `signal` aborts, then cuts them. */
  close(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const force = () => {
        this.server.forceShutdown();
        resolve();
      };
      if (signal.aborted) return force();
      signal.addEventListener('abort', force, { once: true });
      this.server.tryShutdown(() => {
        signal.removeEventListener('abort', force);
        resolve();
      });
    });
  }
}

/** The service's methods, each counted and timed, each failure sent as its gRPC status with the error's message. */
function implementation(protocol: GrpcProtocol, options: GrpcFrontOptions): grpc.UntypedServiceImplementation {
  const methods = protocol.methods(options.plane);
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(methods)) {
    handlers[name] = (call: grpc.ServerUnaryCall<unknown, object>, callback: grpc.sendUnaryData<object>) => {
      const started = performance.now();
      const exchange: GrpcCall = { model: '', metadata: call.metadata };
      const answered = (code: grpc.status) => options.metrics.answered(protocol.name, exchange.model, grpc.status[code], (performance.now() - started) / 1000);
      method(call.request, exchange).then(
        (reply) => {
          answered(grpc.status.OK);
          callback(null, reply);
        },
        (err: unknown) => {
          if (!isSluiceError(err)) options.log.error('gRPC call failed', { service: protocol.service, method: name, error: messageOf(err) });
          const error = isSluiceError(err)
            ? err
            : new SluiceError('SLUICE_ERR_SERVER_FAILED', { what: `${protocol.service}/${name}`, message: messageOf(err) });
          answered(error.grpcCode);
          callback({ code: error.grpcCode, details: error.message });
        },
      );
    };
  }
  return handlers;
}
