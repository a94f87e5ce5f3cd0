import { createHash } from 'node:crypto';
import { Objm, setSha256Backend, StorageType } from '@nats-io/obj';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { messageOf, SluiceError } from '../../core/errors.js';

// Node's own SHA-256 makes object-store put/get 3–5× faster than the default pure-JS one.
setSha256Backend('native');

/**
 * Records too large for a message (models, mostly) live in the application's object store; the
 * message carries only the blob's name. Names are content hashes, so publishing the same model
 * again stores nothing new. Blobs are kept until deleted by hand (the bucket has no age limit):
 * a record that names one must stay readable as long as its topic keeps it.
 */
export class BlobStore {
  private store: Promise<ObjectStore> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly bucket: string,
    private readonly replicas: number,
  ) {}

  /** Stores the payload (unless it is there already) and returns its name. */
  async put(payload: Uint8Array): Promise<string> {
    const name = `sha256-${createHash('sha256').update(payload).digest('hex')}`;
    try {
      const store = await this.open();
      if ((await store.info(name)) === null) await store.putBlob({ name }, payload);
      return name;
    } catch (err) {
      this.store = undefined;
      throw new SluiceError(
        'SLUICE_ERR_NATS_STREAM',
        { what: 'object store', name: this.bucket, message: `cannot store ${name}: ${messageOf(err)}` },
        { cause: err },
      );
    }
  }

  async get(name: string): Promise<Buffer> {
    let bytes: Uint8Array | null;
    try {
      bytes = await (await this.open()).getBlob(name);
    } catch (err) {
      this.store = undefined;
      throw new SluiceError(
        'SLUICE_ERR_NATS_STREAM',
        { what: 'object store', name: this.bucket, message: `cannot read ${name}: ${messageOf(err)}` },
        { cause: err },
      );
    }
    if (bytes === null) throw new SluiceError('SLUICE_ERR_NATS_STREAM', { what: 'object store', name: this.bucket, message: `has no blob ${name}` });
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private open(): Promise<ObjectStore> {
    this.store ??= new Objm(this.nc).create(this.bucket, { storage: StorageType.File, replicas: this.replicas });
    return this.store;
  }
}
