/**
 * What a file ingress has read, per file, kept on its volume: the position after the last
 * record the runtime accepted, and the file's inode so a file replaced under the same name is
 * read from its start. Saved atomically after every accepted batch, so a restart neither
 * repeats nor skips a record.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { writeFileDurably } from '../../util/durable.js';
import type { FilePosition } from './format.js';

export const POSITIONS_FILE = 'read-positions.json';

export interface FileReadState extends FilePosition {
  readonly inode: number;
  /** Why the file cannot be read at all (e.g. a CSV header without columns); it is skipped until replaced. */
  readonly unreadable?: string;
}

export class ReadPositions {
  readonly file: string;
  private readonly files = new Map<string, FileReadState>();

  constructor(
    directory: string,
    private readonly log: Logger,
  ) {
    this.file = join(directory, POSITIONS_FILE);
  }

  /** Loads the saved positions. An unreadable file is set aside and reading starts over: records may repeat, none is lost. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new SluiceError('SLUICE_ERR_READ_POSITIONS_CORRUPT', { file: this.file, message: messageOf(err) }, { cause: err });
    }
    try {
      for (const [path, state] of Object.entries(parsePositions(text))) this.files.set(path, state);
    } catch (err) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await rename(this.file, aside);
      const error = new SluiceError('SLUICE_ERR_READ_POSITIONS_CORRUPT', { file: this.file, message: messageOf(err) }, { cause: err });
      this.log.error('read positions lost; reading every file from its start (records already read are read again)', { error: error.message, keptAs: aside });
    }
  }

  get(path: string): FileReadState | undefined {
    return this.files.get(path);
  }

  set(path: string, state: FileReadState): void {
    this.files.set(path, state);
  }

  /** Forgets files that are gone; true if any was. */
  keepOnly(paths: ReadonlySet<string>): boolean {
    let changed = false;
    for (const path of this.files.keys()) {
      if (!paths.has(path)) changed = this.files.delete(path) || changed;
    }
    return changed;
  }

  save(): Promise<void> {
    return writeFileDurably(this.file, JSON.stringify({ version: 1, files: Object.fromEntries(this.files) }));
  }
}

function parsePositions(text: string): Record<string, FileReadState> {
  const json = JSON.parse(text) as unknown;
  if (typeof json !== 'object' || json === null || (json as { version?: unknown }).version !== 1) throw new Error('not a version 1 positions file');
  const files = (json as { files?: unknown }).files;
  if (typeof files !== 'object' || files === null) throw new Error('no "files" object');
  const counts = ['offset', 'ordinal', 'within', 'inode'] as const;
  for (const [path, state] of Object.entries(files)) {
    for (const key of counts) {
      const value = (state as Record<string, unknown>)[key];
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`${path}: ${key} is not a count: ${JSON.stringify(value)}`);
    }
  }
  return files as Record<string, FileReadState>;
}
