/**
 * Redis Streams egress: appends each record of its inlet to a stream (XADD, one pipeline per
 * batch) and commits the batch only after every reply came back. A batch that failed part way
 * (a lost connection, Redis out of memory) is appended again once Redis takes it, so delivery is
 * at-least-once: entries of that batch may appear twice.
 */
import type { Redis } from 'ioredis';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet } from '../../core/streamlet.js';
import { Backoff, pause } from '../../util/backoff.js';
import { defaultConnectBackoff } from '../connect.js';
import { formatParameter, payloadCodec } from '../payload.js';
import { RedisConnection, redisConnectionConfig, redisEndpoint, replyCode } from './connection.js';

export interface RedisEgressOptions<T> {
  readonly schema: Schema<T>;
}

export function redisStreamEgress<T>(options: RedisEgressOptions<T>) {
  return defineStreamlet({
    description: `Appends ${options.schema.name} records to a Redis stream (at-least-once)`,
    inlets: { in: options.schema },
    config: {
      ...redisConnectionConfig,
      stream: config.string({ description: 'Key of the stream to append to (created by the first entry)' }),
      field: config.string({ description: 'Entry field holding the record', default: 'data' }),
      format: formatParameter,
      'max-length': config.integer({ description: 'Trim the stream to about this many entries (XADD MAXLEN ~); 0: never trim', default: 0, min: 0 }),
      'batch-size': config.integer({ description: 'Most entries appended by one pipeline', default: 1000, min: 1, max: 100_000 }),
    },
    async run(ctx) {
      const { stream, field } = ctx.config;
      const codec = payloadCodec(options.schema, ctx.config.format);
      const trim = ctx.config['max-length'] > 0 ? ['MAXLEN', '~', ctx.config['max-length']] : [];
      const connection = new RedisConnection(redisEndpoint(ctx.name, ctx.config), ctx.log, ctx.signal);
      const notAStream = (what: string) =>
        new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: `${ctx.name}.stream`, message: `key ${stream} holds something other than a stream: ${what}` });
      const setupError = (err: unknown) => (replyCode(err) === 'WRONGTYPE' ? notAStream(messageOf(err)) : connection.accessRefused(err));
      /** True once every entry of the batch was appended; false when the streamlet stopped first. */
      const append = async (payloads: readonly Buffer[]): Promise<boolean> => {
        const backoff = new Backoff(defaultConnectBackoff);
        for (;;) {
          const redis = await connection.connected();
          if (!redis) return false;
          try {
            await appendAll(redis, stream, trim, field, payloads);
            return true;
          } catch (err) {
            const fatal = setupError(err);
            if (fatal) throw fatal;
            connection.lost(err);
            await pause(backoff.next(), ctx.signal);
          }
        }
      };
      try {
        // Connect and check the key before the first batch, so a wrong configuration fails at start.
        const redis = await connection.connected();
        if (!redis) return;
        const type = await redis.type(stream).catch((err: unknown) => {
          const fatal = setupError(err);
          if (fatal) throw fatal;
          connection.lost(err);
          return 'none';
        });
        if (type !== 'none' && type !== 'stream') throw notAStream(`a ${type}`);
        for await (const batch of ctx.inlet('in').batches({ maxSize: ctx.config['batch-size'] })) {
          if (!(await append(batch.map((record) => codec.encode(record as T))))) {
            ctx.log.warn('stopped before Redis took the last batch; it is not committed', { records: batch.length });
            return;
          }
        }
      } finally {
        connection.close();
      }
    },
  });
}

async function appendAll(redis: Redis, stream: string, trim: readonly (string | number)[], field: string, payloads: readonly Buffer[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const payload of payloads) pipeline.xadd(stream, ...trim, '*', field, payload);
  const replies = (await pipeline.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
  if (replies.length !== payloads.length) throw new Error(`Redis answered ${replies.length} of ${payloads.length} appends`);
}
