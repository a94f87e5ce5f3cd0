/**
 * File egress: writes records to a directory as JSON lines, CSV or Avro container files, rolled
 * by size and by time. A batch is committed only once it is fsynced; a directory that cannot be
 * written (full disk, lost mount, permissions) is retried with backoff, without committing.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet } from '../../core/streamlet.js';
import { Backoff, pause } from '../../util/backoff.js';
import { defaultConnectBackoff } from '../connect.js';
import { containerCodecs } from '../avro-container.js';
import { fileFormats } from './format.js';
import { fileFormatsByName } from './formats.js';
import { RollingFileWriter } from './rolling-writer.js';

export interface FileEgressOptions<T> {
  readonly schema: Schema<T>;
  readonly description?: string;
}

export function fileEgress<T>(options: FileEgressOptions<T>) {
  return defineStreamlet({
    description: options.description ?? `Writes ${options.schema.name} records to files (JSON lines, CSV or Avro containers), rolled by size and time`,
    inlets: { in: options.schema },
    config: {
      directory: config.string({ description: 'Directory the files are written to (created if missing); relative to the working directory' }),
      format: config.oneOf({
        description: 'jsonl (JSON lines), csv (with a header row) or avro (object container files)',
        values: fileFormats,
        default: 'jsonl',
      }),
      'file-prefix': config.string({
        description: 'Start of every file name: <prefix>-<UTC time>-<sequence>.<ext>',
        default: 'part',
        pattern: /^[\w-][\w.-]*$/,
      }),
      'roll-size': config.memorySize({ description: 'A file is published once it reaches this size', default: 64 * 1024 * 1024, min: 1 }),
      'roll-interval': config.duration({ description: 'A file is published once it has been open this long', default: 60_000, min: 1 }),
      'csv-delimiter': config.string({ description: 'CSV field delimiter: one character', default: ',', pattern: /^[^"\r\n]$/ }),
      'avro-codec': config.oneOf({ description: 'Compression of Avro container blocks', values: containerCodecs, default: 'null' }),
    },
    async run(ctx) {
      const directory = resolve(ctx.config.directory);
      try {
        await mkdir(directory, { recursive: true });
      } catch (err) {
        throw new SluiceError(
          'SLUICE_ERR_CONFIG_INVALID',
          { where: `${ctx.name}.directory`, message: `cannot create ${directory}: ${messageOf(err)}` },
          { cause: err },
        );
      }
      const writer = new RollingFileWriter({
        directory,
        prefix: ctx.config['file-prefix'],
        format: fileFormatsByName[ctx.config.format],
        schema: options.schema,
        encoder: { csvDelimiter: ctx.config['csv-delimiter'], avroCodec: ctx.config['avro-codec'] },
        rollSize: ctx.config['roll-size'],
        rollInterval: ctx.config['roll-interval'],
        log: ctx.log,
      });
      await writer.recover();
      ctx.log.info('writing files', { directory, format: ctx.config.format });
      const backoff = new Backoff(defaultConnectBackoff);
      try {
        for await (const batch of ctx.inlet('in').batches()) {
          // Asking for the next batch commits this one: only once all of it is durable.
          for (let rest: readonly T[] = batch; rest.length > 0;) {
            try {
              rest = await writer.write(rest);
              backoff.reset();
            } catch (err) {
              if (ctx.signal.aborted) throw err;
              const delay = backoff.next();
              ctx.log.warn('cannot write to the directory; retrying (nothing committed)', {
                directory,
                error: messageOf(err),
                attempt: backoff.attempts,
                retryInMs: Math.round(delay),
              });
              await pause(delay, ctx.signal);
            }
          }
        }
      } finally {
        await writer.close();
      }
    },
  });
}
