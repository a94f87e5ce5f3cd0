/**
 * File ingress: reads records from a file, or from the files of a directory in name order, as
 * JSON lines, CSV or Avro containers, and keeps watching (polling) for records appended and
 * files added. What it has read is saved on its volume after each batch the runtime accepted.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { config } from '../../core/config.js';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { pause } from '../../util/backoff.js';
import { fileFormats, type DecodedUnit, type DecoderOptions, type FileDecoder, type FilePosition } from './format.js';
import { fileFormatsByName } from './formats.js';
import { ReadPositions, type FileReadState } from './read-positions.js';
import { rejectionReason, rejectionReporter } from '../rejections.js';

export interface FileIngressOptions<T> {
  readonly schema: Schema<T>;
  /** Partition key of the records emitted. */
  readonly key?: (record: T) => string;
  readonly description?: string;
}

const MIN_WINDOW = 1024 * 1024;

export function fileIngress<T>(options: FileIngressOptions<T>) {
  return defineStreamlet({
    description: options.description ?? `Reads ${options.schema.name} records from files (JSON lines, CSV or Avro containers)`,
    outlets: { out: outlet(options.schema, options.key) },
    config: {
      path: config.string({ description: 'A file, or a directory whose files are read in name order; relative to the working directory' }),
      format: config.oneOf({
        description: 'jsonl (JSON lines), csv (with a header row) or avro (object container files)',
        values: fileFormats,
        default: 'jsonl',
      }),
      pattern: config.string({
        description: 'In a directory: the names of the files to read, a glob with * and ? (hidden files are never read)',
        default: '*',
      }),
      follow: config.boolean({ description: 'Keep reading records appended and files added; false: read what is there, then end', default: true }),
      'poll-interval': config.duration({ description: 'How often to look for new records when following', default: 500, min: 1 }),
      'max-record-size': config.memorySize({
        description: 'Largest line or CSV record (an Avro block) accepted; larger ones are rejected',
        default: 1024 * 1024,
        min: 16,
      }),
      'batch-size': config.integer({ description: 'Most records emitted (and read positions saved) at a time', default: 512, min: 1 }),
      'csv-delimiter': config.string({ description: 'CSV field delimiter: one character', default: ',', pattern: /^[^"\r\n]$/ }),
    },
    volumeMounts: { positions: { description: 'The read positions (read-positions.json)', path: '/var/lib/sluice/file-ingress' } },
    async run(ctx) {
      const root = resolve(ctx.config.path);
      const kind = await pathKind(root, `${ctx.name}.path`);
      const format = fileFormatsByName[ctx.config.format];
      const follow = ctx.config.follow;
      const maxUnitSize = ctx.config['max-record-size'];
      const window = Math.max(MIN_WINDOW, maxUnitSize + 64 * 1024);
      const matches = globMatcher(ctx.config.pattern);
      const positions = new ReadPositions(ctx.volumePath('positions'), ctx.log);
      await positions.load();
      const rejections = rejectionReporter(ctx);
      const decoders = new Map<string, { inode: number; decoder: FileDecoder<T> }>();
      const log = ctx.log;
      const batchSize = ctx.config['batch-size'];

      const commit = async (file: string, inode: number, position: FilePosition) => {
        positions.set(file, { offset: position.offset, ordinal: position.ordinal, within: position.within, inode });
        await positions.save();
      };

      /** Emits the records of `units` a batch at a time, saving the position after each; false once stopping. */
      const emit = async (file: string, inode: number, units: readonly DecodedUnit<T>[], end: FilePosition): Promise<boolean> => {
        let batch: T[] = [];
        for (const [i, unit] of units.entries()) {
          if (unit.ok) batch.push(unit.value);
          else rejections.reject(rejectionReason(unit.error), unit.error, { file }, unit.count);
          const last = i === units.length - 1;
          if (batch.length >= batchSize || last) {
            await ctx.emitAll('out', batch);
            batch = [];
            await commit(file, inode, last ? end : unit.end);
            // Stopping: what was emitted is committed; the rest is read after a restart.
            if (ctx.signal.aborted) return false;
          }
        }
        if (units.length === 0) await commit(file, inode, end);
        return true;
      };

      /** Reads what `file` has beyond its saved position. */
      const readAvailable = async (file: string, handle: FileHandle) => {
        const info = await handle.stat();
        if (!info.isFile()) return;
        const inode = info.ino;
        let saved: FileReadState | undefined = positions.get(file);
        if (saved && saved.inode !== inode) {
          log.info('file replaced; reading it from its start', { file });
          saved = undefined;
        } else if (saved && info.size < saved.offset) {
          log.warn('file is shorter than what was read of it (truncated?); reading it from its start', { file, size: info.size, readUpTo: saved.offset });
          saved = undefined;
        }
        if (saved?.unreadable || (saved && saved.offset === info.size && saved.within === 0)) return;
        if (decoders.get(file)?.inode !== inode || !saved) decoders.delete(file);
        let decoder = decoders.get(file)?.decoder;
        if (!decoder) {
          const head = await readAt(handle, 0, Math.min(window, info.size));
          const decoderOptions: DecoderOptions = { file, maxUnitSize, csvDelimiter: ctx.config['csv-delimiter'] };
          try {
            decoder = format.decoder(options.schema, head, !follow && head.length >= info.size, decoderOptions);
          } catch (err) {
            rejections.reject(rejectionReason(err), err, { file });
            log.error('file cannot be read; skipping it until it is replaced', { file, error: messageOf(err) });
            positions.set(file, { offset: info.size, ordinal: 1, within: 0, inode, unreadable: messageOf(err) });
            await positions.save();
            return;
          }
          if (!decoder) return; // its header is not complete yet
          decoders.set(file, { inode, decoder });
        }
        let position: FilePosition = saved && saved.offset >= decoder.start.offset ? saved : decoder.start;
        while (!ctx.signal.aborted) {
          const available = info.size - position.offset;
          if (available <= 0) return;
          const windowStart = position.offset;
          const bytes = await readAt(handle, windowStart, Math.min(window, available));
          const final = !follow && bytes.length >= available;
          // A batch at a time from the window, so the first records go out before the whole window is decoded.
          for (let consumed = 0; ; consumed = position.offset - windowStart) {
            const { units, end } = decoder.decode(bytes.subarray(Math.min(consumed, bytes.length)), position, final, batchSize);
            if (end.offset === position.offset && end.within === position.within) break; // the rest is an incomplete record
            if (!(await emit(file, inode, units, end))) return;
            position = end;
          }
          if (position.offset === windowStart) return; // nothing whole in the window: wait for more bytes
        }
      };

      try {
        for (;;) {
          const files = kind === 'file' ? [root] : await listFiles(root, matches);
          for (const file of files) {
            if (ctx.signal.aborted) break;
            const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
              if (err.code === 'ENOENT') return undefined; // gone since it was listed
              throw err;
            });
            if (!handle) continue;
            try {
              await readAvailable(file, handle);
            } finally {
              await handle.close();
            }
          }
          if (kind === 'directory' && positions.keepOnly(new Set(files))) await positions.save();
          if (!follow || ctx.signal.aborted) break;
          await pause(ctx.config['poll-interval'], ctx.signal);
        }
      } finally {
      }
    },
  });
}

async function pathKind(path: string, key: string): Promise<'file' | 'directory'> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return 'directory';
    if (info.isFile()) return 'file';
    throw new Error('it is neither a file nor a directory');
  } catch (err) {
    const message = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read: ${messageOf(err)}`;
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: key, message: `${path} ${message}` }, { cause: err });
  }
}

async function listFiles(directory: string, matches: (name: string) => boolean): Promise<string[]> {
  const names = await readdir(directory);
  return names
    .filter((name) => !name.startsWith('.') && matches(name))
    .sort()
    .map((name) => join(directory, name));
}

/** `*` any run of characters, `?` one character; everything else literal. */
export function globMatcher(glob: string): (name: string) => boolean {
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  const pattern = new RegExp(`^${source}$`);
  return (name) => pattern.test(name);
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  // A fresh buffer per read: decoded values (Avro bytes) may point into it.
  const buffer = Buffer.allocUnsafe(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}
