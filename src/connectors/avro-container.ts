/**
 * Avro object container files, read and written block by block from buffers: a header (magic,
 * metadata with the writer's schema and codec, a 16-byte sync marker), then blocks of `count`
 * records, each closed by the sync marker. avsc's container streams hide where each block
 * starts; a reader that resumes at an offset and a writer that fsyncs whole blocks need to know.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import avro from 'avsc';
import { messageOf, SluiceError } from '../core/errors.js';
import type { Schema } from '../core/schema.js';

export const containerCodecs = ['null', 'deflate'] as const;
export type ContainerCodec = (typeof containerCodecs)[number];

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const SYNC_SIZE = 16;
const headerType = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
  ],
});
const longType = avro.Type.forSchema('long');

export interface ContainerHeader {
  readonly writerType: avro.Type;
  readonly codec: ContainerCodec;
  readonly sync: Buffer;
  /** Bytes the header takes: the first block starts there. */
  readonly size: number;
}

const undecodable = (where: string, schema: string, message: string, cause?: unknown) =>
  new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema, message }, { cause });

/** The header at the start of `bytes`; `undefined` while it is incomplete. Throws when it is not a container header. */
export function readContainerHeader(bytes: Buffer, where: string, readerName: string): ContainerHeader | undefined {
  if (bytes.length < MAGIC.length) return undefined;
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw undecodable(where, readerName, 'not an Avro container file (no "Obj\\x01" magic)');
  const { value, offset } = headerType.decode(bytes, 0) as { value: { meta: Record<string, Buffer>; sync: Buffer } | undefined; offset: number };
  if (offset < 0 || !value) return undefined;
  const codec = value.meta['avro.codec']?.toString() ?? 'null';
  if (!containerCodecs.includes(codec as ContainerCodec)) {
    throw undecodable(where, readerName, `container codec ${codec} is not supported (supported: ${containerCodecs.join(', ')})`);
  }
  const schemaText = value.meta['avro.schema']?.toString();
  if (schemaText === undefined) throw undecodable(where, readerName, 'container header has no avro.schema');
  let writerType: avro.Type;
  try {
    writerType = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema);
  } catch (err) {
    throw undecodable(where, readerName, `container schema is not a valid Avro schema: ${messageOf(err)}`, err);
  }
  return { writerType, codec: codec as ContainerCodec, sync: Buffer.from(value.sync), size: offset };
}

/** How `reader` reads what the container's writer schema wrote; throws SLUICE_ERR_RECORD_UNDECODABLE when it cannot. */
export function containerReader<T>(reader: Schema<T>, header: ContainerHeader, where: string): (data: Buffer, at: number) => { value: T; offset: number } {
  let resolver: avro.Resolver | undefined;
  if (!header.writerType.equals(reader.type)) {
    try {
      resolver = reader.type.createResolver(header.writerType);
    } catch (err) {
      throw undecodable(
        where,
        reader.name,
        `the container's schema ${header.writerType.name ?? header.writerType.typeName} cannot be read as ${reader.name}: ${messageOf(err)}`,
        err,
      );
    }
  }
  return (data, at) => reader.type.decode(data, at, resolver) as { value: T; offset: number };
}

export type BlockRead =
  | { readonly kind: 'incomplete' }
  /** A whole block: `data` is its records' bytes, decompressed. */
  | { readonly kind: 'block'; readonly count: number; readonly data: Buffer; readonly end: number }
  /** Only the block's head was read, and its size is over `maxSize`: it ends at `end` (maybe past `bytes`). */
  | { readonly kind: 'oversized'; readonly count: number; readonly size: number; readonly end: number }
  /** Not a block (wrong sync marker, bad counts, bad compression). */
  | { readonly kind: 'corrupt'; readonly message: string };

/** Reads the block starting at `at`. */
export function readBlock(bytes: Buffer, at: number, header: ContainerHeader, maxSize: number): BlockRead {
  let count: { value: number; offset: number };
  let size: { value: number; offset: number };
  try {
    count = longType.decode(bytes, at) as typeof count;
    if (count.offset < 0) return { kind: 'incomplete' };
    size = longType.decode(bytes, count.offset) as typeof size;
    if (size.offset < 0) return { kind: 'incomplete' };
  } catch (err) {
    return { kind: 'corrupt', message: `block head: ${messageOf(err)}` };
  }
  if (count.value < 0 || size.value < 0) return { kind: 'corrupt', message: `block with ${count.value} records of ${size.value} bytes` };
  const end = size.offset + size.value + SYNC_SIZE;
  if (size.value > maxSize) return { kind: 'oversized', count: count.value, size: size.value, end };
  if (end > bytes.length) return { kind: 'incomplete' };
  if (!bytes.subarray(end - SYNC_SIZE, end).equals(header.sync)) return { kind: 'corrupt', message: 'block does not end with the sync marker' };
  const raw = bytes.subarray(size.offset, size.offset + size.value);
  try {
    return { kind: 'block', count: count.value, data: header.codec === 'deflate' ? inflateRawSync(raw) : raw, end };
  } catch (err) {
    return { kind: 'corrupt', message: `block cannot be inflated: ${messageOf(err)}` };
  }
}

/** Where the next sync marker ends at or after `from` (a reader resumes there after a corrupt block); -1 if none. */
export function nextSync(bytes: Buffer, from: number, header: ContainerHeader): number {
  const found = bytes.indexOf(header.sync, from);
  return found < 0 ? -1 : found + SYNC_SIZE;
}

/** Writes one container file: its header once, then a block per call. */
export class ContainerWriter<T> {
  private readonly sync = randomBytes(SYNC_SIZE);

  constructor(
    private readonly schema: Schema<T>,
    private readonly codec: ContainerCodec,
  ) {}

  header(): Buffer {
    const meta = { 'avro.schema': Buffer.from(JSON.stringify(this.schema.definition)), 'avro.codec': Buffer.from(this.codec) };
    return headerType.toBuffer({ magic: MAGIC, meta, sync: this.sync });
  }

  block(values: readonly T[]): Buffer {
    const raw = Buffer.concat(values.map((value) => this.schema.type.toBuffer(value)));
    const data = this.codec === 'deflate' ? deflateRawSync(raw) : raw;
    return Buffer.concat([longType.toBuffer(values.length), longType.toBuffer(data.length), data, this.sync]);
  }
}
