/**
 * Writes records into a directory as a sequence of files, each published whole: records go to a
 * hidden in-progress file (`.<name>.inprogress`), every batch is fsynced before it counts as
 * written, and when the file reaches its size or age limit it is renamed to its final name
 * (`<prefix>-<UTC time>-<sequence>.<ext>`, names that sort in the order they were written). A
 * reader of the directory never sees half a file. A crash leaves an in-progress file; the next
 * start cuts it back to its last whole record and publishes it.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/log.js';
import type { Schema } from '../../core/schema.js';
import { renameDurably } from '../../util/durable.js';
import type { EncoderOptions, FileEncoder, FileFormat } from './format.js';

export interface RollingOptions<T> {
  readonly directory: string;
  readonly prefix: string;
  readonly format: FileFormat;
  readonly schema: Schema<T>;
  readonly encoder: EncoderOptions;
  /** A file is published once it holds at least this many bytes. */
  readonly rollSize: number;
  /** ... or once it has been open this long (ms), even if no record came since. */
  readonly rollInterval: number;
  readonly log: Logger;
}

interface OpenFile<T> {
  readonly name: string;
  readonly temp: string;
  readonly handle: FileHandle;
  readonly encoder: FileEncoder<T>;
  /** Bytes fsynced: what survives a crash. */
  size: number;
  records: number;
  /** A write failed after this file's last fsync: cut back to `size` before writing again. */
  dirty: boolean;
  /** Closed for publishing, which has not completed yet. */
  closed: boolean;
}

const IN_PROGRESS = '.inprogress';

export class RollingFileWriter<T> {
  private current: OpenFile<T> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;

  constructor(private readonly options: RollingOptions<T>) {}

  /** Publishes the in-progress files a crash left behind, cut back to their last whole record. */
  async recover(): Promise<void> {
    const { directory, prefix, format, schema, log, encoder } = this.options;
    const leftovers = (await readdir(directory)).filter((n) => n.startsWith(`.${prefix}-`) && n.endsWith(`.${format.extension}${IN_PROGRESS}`));
    for (const leftover of leftovers.sort()) {
      const temp = join(directory, leftover);
      const bytes = await readFile(temp);
      const options = { file: temp, maxUnitSize: bytes.length, csvDelimiter: encoder.csvDelimiter };
      const decoder = format.decoder(schema, bytes, false, options);
      const decoded = decoder?.decode(bytes.subarray(decoder.start.offset), decoder.start, false);
      if (!decoded || decoded.units.length === 0) {
        await rm(temp);
        log.info('removed an in-progress file a crash left without a whole record', { file: temp });
        continue;
      }
      const handle = await open(temp, 'r+');
      try {
        await handle.truncate(decoded.end.offset);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const name = leftover.slice(1, -IN_PROGRESS.length);
      await renameDurably(temp, join(directory, name));
      log.warn('published a file a crash left in progress (its last batch may be delivered again)', {
        file: name,
        records: decoded.units.length,
        cutBytes: bytes.length - decoded.end.offset,
      });
    }
  }

  /**
   * Appends as many of `values` as fit in the current file (at least one) and fsyncs them, then
   * publishes the file if it is full; returns the values still to write. Once it resolves, the
   * values it took are durable: a caller retrying after a failure passes only the rest.
   */
  write(values: readonly T[]): Promise<readonly T[]> {
    return this.serially(() => this.writeSome(values));
  }

  private async writeSome(values: readonly T[]): Promise<readonly T[]> {
    if (this.current?.closed) await this.publish();
    const file = this.current ?? (await this.openFile());
    if (file.dirty) {
      await file.handle.truncate(file.size);
      file.dirty = false;
    }
    const encode = (some: readonly T[]) => (file.size === 0 ? Buffer.concat([file.encoder.header(), file.encoder.encode(some)]) : file.encoder.encode(some));
    let take = values;
    let bytes = encode(take);
    const room = this.options.rollSize - file.size;
    if (bytes.length > room && take.length > 1) {
      // Records are about the same size: take the share that fills the file.
      take = values.slice(0, Math.max(1, Math.floor((values.length * room) / bytes.length)));
      bytes = encode(take);
    }
    try {
      await writeFully(file.handle, bytes, file.size);
      await file.handle.sync();
    } catch (err) {
      file.dirty = true;
      throw err;
    }
    file.size += bytes.length;
    file.records += take.length;
    // The records are durable now: a failure to publish must not fail (and repeat) them.
    if (file.size >= this.options.rollSize) await this.publish().catch((err: unknown) => this.publishFailed(err));
    return values.slice(take.length);
  }

  /** Publishes the open file, if any: on stop, so nothing written stays hidden. */
  close(): Promise<void> {
    return this.serially(() => this.publish());
  }

  private async openFile(): Promise<OpenFile<T>> {
    const { directory, prefix, format, schema, encoder } = this.options;
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    this.sequence += 1;
    const name = `${prefix}-${stamp}-${String(this.sequence).padStart(6, '0')}${randomBytes(2).toString('hex')}.${format.extension}`;
    const temp = join(directory, `.${name}${IN_PROGRESS}`);
    const handle = await open(temp, 'wx');
    this.current = { name, temp, handle, encoder: format.encoder(schema, encoder), size: 0, records: 0, dirty: false, closed: false };
    this.armTimer(this.options.rollInterval);
    return this.current;
  }

  private armTimer(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.serially(() => this.publish()).catch((err: unknown) => this.publishFailed(err)), ms);
    this.timer.unref();
  }

  private publishFailed(err: unknown): void {
    this.options.log.error('cannot publish a written file; retrying', { file: this.current?.name, error: err instanceof Error ? err.message : String(err) });
    this.armTimer(Math.min(this.options.rollInterval, 1_000));
  }

  private async publish(): Promise<void> {
    const file = this.current;
    if (!file) return;
    clearTimeout(this.timer);
    if (!file.closed) {
      if (file.dirty) {
        await file.handle.truncate(file.size);
        await file.handle.sync();
        file.dirty = false;
      }
      file.closed = true;
      await file.handle.close();
    }
    if (file.records === 0) {
      await rm(file.temp, { force: true });
    } else {
      await renameDurably(file.temp, join(this.options.directory, file.name));
      this.options.log.info('file written', { file: file.name, records: file.records, bytes: file.size });
    }
    this.current = undefined;
  }

  /** Writes and timer-driven publishing take turns. */
  private serially<R>(task: () => Promise<R>): Promise<R> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** A write can be short (a disk filling up writes part, and only the next write fails): go on until every byte is written. */
async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}
