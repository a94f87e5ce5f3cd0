/**
 * The model server's settings as data (defaults, bounds, descriptions), parsed the same way from
 * library options and from `sluice serve` flags. Light on purpose: the CLI checks its flags
 * against this before it loads the server itself.
 */
import { config } from '../core/config.js';

export const serverParameters = {
  host: config.string({ description: 'Address both ports listen on', default: '127.0.0.1' }),
  httpPort: config.integer({ description: 'Port of the REST protocols and /metrics; 0 picks a free one', default: 8080, min: 0, max: 65_535 }),
  grpcPort: config.integer({ description: 'Port of the gRPC protocols; 0 picks a free one', default: 8081, min: 0, max: 65_535 }),
  maxBatchSize: config.integer({ description: 'Most rows one model call scores when batching requests', default: 512, min: 1 }),
  batchDelayMs: config.duration({ description: 'Longest wait for a batch to fill (0: batch only what is already waiting)', default: 0, min: 0 }),
  maxQueue: config.integer({ description: 'Requests waiting per model version before more are refused with 429', default: 1024, min: 1 }),
  maxRequestBytes: config.memorySize({
    description: 'Largest request body or gRPC message; larger ones get 413 / RESOURCE_EXHAUSTED',
    default: 16 * 1024 * 1024,
    min: 1,
  }),
  versionsServed: config.integer({ description: 'How many of the newest loadable versions of each model are served', default: 1, min: 1 }),
  pollIntervalMs: config.duration({ description: 'How often the model repository is checked for new versions', default: 1000, min: 1 }),
  drainTimeoutMs: config.duration({ description: 'How long a shutdown waits for in-flight requests', default: 10_000, min: 0 }),
  seldonModel: config.string({ description: 'The model Seldon requests without a model name go to', default: '' }),
};

/** Every setting, optional: what is not given takes its default. */
export type ServerSettings = { -readonly [K in keyof typeof serverParameters]?: ReturnType<(typeof serverParameters)[K]['parse']> };
