/**
 * Redis Streams ingress: reads a stream as a member of a consumer group and emits one record per
 * entry. An entry is acknowledged (XACK) only after the runtime accepted its record, so delivery
 * is at-least-once: on start, and after a lost connection, the consumer first reads its own
 * pending entries again; entries left pending by a consumer that died are claimed after
 * `claim-idle`. A malformed entry is acknowledged and copied to the dead-letter stream
 * (`<stream>:dead` by default) with the reason, so it never blocks the stream.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import type { Logger } from '../../core/log.js';
import type { StreamletMetrics } from '../../core/metrics.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { Backoff, pause } from '../../util/backoff.js';
import { defaultConnectBackoff } from '../connect.js';
import { formatParameter, payloadCodec, type PayloadCodec } from '../payload.js';
import { RedisConnection, redisConnectionConfig, redisEndpoint, replyCode } from './connection.js';
import { claimReplyEntries, readReplyEntries, type StreamEntry } from './entries.js';
import { rejectionReason, decodePayload, rejectionReporter, type Rejections } from '../rejections.js';

export interface RedisIngressOptions<T> {
  readonly schema: Schema<T>;
}

/** The longest a read waits for new entries before the ingress checks for idle entries to claim. */
const BLOCK_MS = 2_000;

export function redisStreamIngress<T>(options: RedisIngressOptions<T>) {
  return defineStreamlet({
    description: `Reads ${options.schema.name} records from a Redis stream with a consumer group (at-least-once)`,
    outlets: { out: outlet(options.schema) },
    config: {
      ...redisConnectionConfig,
      stream: config.string({ description: 'Key of the stream to read' }),
      group: config.string({ description: "Consumer group (created if missing); empty: the streamlet's name", default: '' }),
      consumer: config.string({ description: "This reader's name in the group; empty: the host name", default: '' }),
      'start-from': config.oneOf({
        description: 'Where a new group starts: the first entry, or entries added from now on',
        values: ['earliest', 'latest'],
        default: 'earliest',
      }),
      field: config.string({ description: 'Entry field holding the record', default: 'data' }),
      format: formatParameter,
      'batch-size': config.integer({ description: 'Most entries read at once', default: 500, min: 1, max: 100_000 }),
      'claim-idle': config.duration({ description: "Claim other consumers' entries pending this long (0: never)", default: 60_000, min: 0 }),
      'max-record-size': config.memorySize({ description: 'Largest record accepted; larger entries are dead-lettered', default: 1024 * 1024, min: 1 }),
      'dead-letter-stream': config.string({ description: 'Where malformed entries are copied; empty: <stream>:dead', default: '' }),
    },
    async run(ctx) {
      const c = ctx.config;
      const reader = new GroupReader<T>(ctx, {
        stream: c.stream,
        group: c.group || ctx.name,
        consumer: c.consumer || hostname(),
        startId: c['start-from'] === 'earliest' ? '0' : '$',
        field: c.field,
        batchSize: c['batch-size'],
        claimIdle: c['claim-idle'],
        maxRecordSize: c['max-record-size'],
        deadLetterStream: c['dead-letter-stream'] || `${c.stream}:dead`,
        codec: payloadCodec(options.schema, c.format),
        schemaName: options.schema.name,
      });
      await reader.run(new RedisConnection(redisEndpoint(ctx.name, c), ctx.log, ctx.signal));
    },
  });
}

interface ReaderSettings<T> {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly startId: string;
  readonly field: string;
  readonly batchSize: number;
  readonly claimIdle: number;
  readonly maxRecordSize: number;
  readonly deadLetterStream: string;
  readonly codec: PayloadCodec<T>;
  readonly schemaName: string;
}

/** The part of the streamlet context the reader uses. */
interface Emitter<T> {
  readonly name: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly metrics: StreamletMetrics;
  emitAll(outlet: 'out', values: readonly T[]): Promise<void>;
}

class GroupReader<T> {
  private readonly rejections: Rejections;
  private readonly where: string;
  private lastClaim = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: Emitter<T>,
    private readonly settings: ReaderSettings<T>,
  ) {
    this.rejections = rejectionReporter(ctx);
    this.where = `${ctx.name} (stream ${settings.stream})`;
  }

  async run(connection: RedisConnection): Promise<void> {
    const backoff = new Backoff(defaultConnectBackoff);
    try {
      while (!this.ctx.signal.aborted) {
        const redis = await connection.connected();
        if (!redis) return;
        try {
          await this.joinGroup(redis);
          await this.readPending(redis);
          backoff.reset();
          while (!this.ctx.signal.aborted) {
            await this.claimIdle(redis);
            const entries = await this.readNew(redis);
            // A stop during the read may have cut the connection after the entries arrived:
            // their acknowledgement would fail, so leave them pending for the next start
            // rather than emit them now and deliver them twice.
            if (this.ctx.signal.aborted) return;
            await this.handle(redis, entries);
          }
        } catch (err) {
          if (this.ctx.signal.aborted) return;
          const fatal = connection.accessRefused(err) ?? this.setupError(err);
          if (fatal) throw fatal;
          connection.lost(err);
          await pause(backoff.next(), this.ctx.signal);
        }
      }
    } finally {
      connection.close();
    }
  }

  private async joinGroup(redis: Redis): Promise<void> {
    const { stream, group, startId } = this.settings;
    try {
      await redis.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
      this.ctx.log.info('created consumer group', { stream, group, startFrom: startId === '0' ? 'earliest' : 'latest' });
    } catch (err) {
      if (replyCode(err) !== 'BUSYGROUP') throw err;
    }
  }

  /** Entries this consumer read before (a restart, a lost connection) and never acknowledged. */
  private async readPending(redis: Redis): Promise<void> {
    const { group, consumer, batchSize, stream } = this.settings;
    for (let after = '0'; ;) {
      const entries = readReplyEntries(await redis.xreadgroupBuffer('GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', stream, after));
      if (entries.length === 0) return;
      await this.handle(redis, entries);
      after = entries[entries.length - 1]!.id;
    }
  }

  private async claimIdle(redis: Redis): Promise<void> {
    const { group, consumer, batchSize, stream, claimIdle } = this.settings;
    if (claimIdle === 0 || Date.now() - this.lastClaim < claimIdle) return;
    this.lastClaim = Date.now();
    for (let start = '0-0'; ;) {
      const { next, entries } = claimReplyEntries(
        await redis.callBuffer('XAUTOCLAIM', [stream, group, consumer, Math.ceil(claimIdle), start, 'COUNT', batchSize]),
      );
      if (entries.length > 0) this.ctx.log.info('claimed entries idle on other consumers', { stream, group, entries: entries.length });
      await this.handle(redis, entries);
      if (next === '0-0') return;
      start = next;
    }
  }

  private async readNew(redis: Redis): Promise<StreamEntry[]> {
    const { group, consumer, batchSize, stream, claimIdle } = this.settings;
    const block = claimIdle > 0 ? Math.min(BLOCK_MS, Math.ceil(claimIdle)) : BLOCK_MS;
    // Stopping ends a blocked read at once; what it had already taken stays pending for this consumer.
    const interrupt = () => redis.disconnect();
    this.ctx.signal.addEventListener('abort', interrupt, { once: true });
    try {
      return readReplyEntries(await redis.xreadgroupBuffer('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', block, 'STREAMS', stream, '>'));
    } finally {
      this.ctx.signal.removeEventListener('abort', interrupt);
    }
  }

  /** Emits the good records, then dead-letters the bad ones and acknowledges them all. */
  private async handle(redis: Redis, entries: readonly StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const records: T[] = [];
    const dead: { entry: StreamEntry; reason: string; payload: Buffer }[] = [];
    for (const entry of entries) {
      // Deleted or trimmed while pending: nothing left to deliver.
      if (entry.fields === null) continue;
      try {
        records.push(this.decode(entry));
      } catch (err) {
        this.rejections.reject(rejectionReason(err), err, { stream: this.settings.stream, id: entry.id });
        dead.push({ entry, reason: messageOf(err), payload: entry.fields.get(this.settings.field) ?? Buffer.alloc(0) });
      }
    }
    if (records.length > 0) await this.ctx.emitAll('out', records);
    const { stream, group, deadLetterStream } = this.settings;
    const pipeline = redis.pipeline();
    // The copy goes first: losing the connection in between leaves the entry pending, not lost.
    for (const { entry, reason, payload } of dead) {
      pipeline.xadd(deadLetterStream, '*', 'data', payload, 'reason', reason, 'stream', stream, 'id', entry.id, 'group', group);
    }
    pipeline.xack(stream, group, ...entries.map((e) => e.id));
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
  }

  private decode(entry: StreamEntry): T {
    const { field, maxRecordSize } = this.settings;
    const payload = entry.fields?.get(field);
    if (payload === undefined) {
      const fields = [...(entry.fields?.keys() ?? [])].join(', ') || 'none';
      throw new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', {
        where: this.entryWhere(entry),
        schema: this.settings.schemaName,
        message: `no field ${field} (fields: ${fields})`,
      });
    }
    return decodePayload(this.settings.codec, payload, maxRecordSize, this.entryWhere(entry));
  }

  private entryWhere(entry: StreamEntry): string {
    return `${this.where} entry ${entry.id}`;
  }

  /** A key that is not a stream cannot be read however often it is retried. */
  private setupError(err: unknown): SluiceError | undefined {
    if (replyCode(err) !== 'WRONGTYPE') return undefined;
    const message = `key ${this.settings.stream} holds something other than a stream: ${messageOf(err)}`;
    return new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: `${this.ctx.name}.stream`, message }, { cause: err });
  }
}
