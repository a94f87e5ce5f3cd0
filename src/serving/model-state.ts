import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, SluiceError } from '../core/errors.js';
import { writeFileDurably } from '../util/durable.js';
import { ModelDescriptorSchema, type ModelDescriptor } from './descriptor.js';

export const STATE_FILE = 'model-state.avro';
/** Candidate models (shadow, canary, speculative) are kept beside the primary, one file each: `candidate-<name>.avro`. */
const CANDIDATE_FILE = /^candidate-(.+)\.avro$/;

/**
 * The serving model persisted on the streamlet's volume: the Avro-encoded descriptor with its
 * bytes, written atomically (temp file, fsync, rename, fsync of the directory) so a crash at
 * any point leaves either the old state or the new one, never a torn file.
 */
export class ModelStateStore {
  readonly file: string;

  constructor(
    private readonly directory: string,
    file = STATE_FILE,
  ) {
    this.file = join(directory, file);
  }

  /** The store of the candidate model named `modelName`, beside this one. */
  candidate(modelName: string): ModelStateStore {
    return new ModelStateStore(this.directory, `candidate-${encodeURIComponent(modelName)}.avro`);
  }

  /** The stores of every persisted candidate, in name order. */
  async candidates(): Promise<ModelStateStore[]> {
    const files = await readdir(this.directory).catch(() => [] as string[]);
    return files
      .filter((f) => CANDIDATE_FILE.test(f))
      .sort()
      .map((f) => new ModelStateStore(this.directory, f));
  }

  async save(descriptor: ModelDescriptor): Promise<void> {
    await writeFileDurably(this.file, ModelDescriptorSchema.encode(descriptor, this.file));
  }

  /** The saved descriptor, `undefined` when there is none; throws SLUICE_ERR_STATE_CORRUPT when unreadable. */
  async load(): Promise<ModelDescriptor | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SluiceError('SLUICE_ERR_STATE_CORRUPT', { file: this.file, message: messageOf(err) }, { cause: err });
    }
    try {
      return ModelDescriptorSchema.decode(bytes, this.file);
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_STATE_CORRUPT', { file: this.file, message: messageOf(err) }, { cause: err });
    }
  }

  /** Deletes the saved state, if any. */
  async remove(): Promise<void> {
    await rm(this.file, { force: true });
  }

  /** Moves an unreadable state file aside, keeping it for inspection; returns its new path. */
  async quarantine(): Promise<string> {
    const aside = `${this.file}.corrupt-${Date.now()}`;
    await rename(this.file, aside);
    return aside;
  }
}
