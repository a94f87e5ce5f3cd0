import { createLogger, type Logger } from '../../../src/core/log.js';
import type { ModelDescriptor } from '../../../src/serving/descriptor.js';
import { tensor, type NamedTensors } from '../../../src/serving/tensor.js';
import { createRemoteExecutor } from '../../../src/serving/remote/remote-executor.js';
import type { RemoteModelType } from '../../../src/serving/remote/location.js';
import { score } from './servers.js';

export function remoteDescriptor(modelType: RemoteModelType, location: string, modelName = 'remote-model'): ModelDescriptor {
  return { modelName, description: `test model at ${location}`, modelType, modelBytes: null, modelSourceLocation: location };
}

/** A logger that keeps every line, and an executor logging to it. */
export function loggedExecutor(modelType: RemoteModelType): {
  executor: ReturnType<typeof createRemoteExecutor>;
  lines: () => Record<string, unknown>[];
  log: Logger;
} {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  return { executor: createRemoteExecutor(modelType, { log }), log, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** `rows` rows for the scorer: users and products float32 [rows,1]. */
export function scorerInputs(rows: number, seed = 0): NamedTensors {
  const users = Float32Array.from({ length: rows }, (_, i) => (seed * 31 + i * 7) % 1000);
  const products = Float32Array.from({ length: rows }, (_, i) => (seed * 17 + i * 13) % 300);
  return { users: tensor('float32', [rows, 1], users), products: tensor('float32', [rows, 1], products) };
}

/** What the scorer must answer for those inputs. */
export function expectedScores(inputs: NamedTensors): number[] {
  const users = inputs.users?.data as Float32Array;
  const products = inputs.products?.data as Float32Array;
  return Array.from(users, (u, i) => score(u, products[i] as number));
}

/** The rejection of a promise, which must reject. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection, got a result');
}
