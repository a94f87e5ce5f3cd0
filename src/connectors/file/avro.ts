/**
 * Avro object container files: records written with any schema the streamlet's schema can read
 * (Avro schema resolution). The reader takes whole blocks; a position inside a block counts the
 * records of it already read, so a restart resumes at the exact record. The size limit applies
 * to a block; a block over it, or a corrupt one, is rejected with all its records and reading
 * goes on at the next sync marker.
 */
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { ContainerWriter, containerReader, nextSync, readBlock, readContainerHeader, type ContainerHeader } from '../avro-container.js';
import { tooLarge } from './jsonl.js';
import type { DecodedUnit, DecoderOptions, FileDecoder, FileFormat, FilePosition } from './format.js';

class ContainerDecoder<T> implements FileDecoder<T> {
  readonly start: FilePosition;
  private readonly read: (data: Buffer, at: number) => { value: T; offset: number };

  constructor(
    private readonly schema: Schema<T>,
    private readonly header: ContainerHeader,
    private readonly options: DecoderOptions,
  ) {
    this.start = { offset: header.size, ordinal: 1, within: 0 };
    this.read = containerReader(schema, header, options.file);
  }

  decode(bytes: Buffer, from: FilePosition, final: boolean, limit = Infinity) {
    const units: DecodedUnit<T>[] = [];
    let pos = 0;
    let record = from.ordinal;
    let within = from.within;
    const at = (offset: number, skip = 0): FilePosition => ({ offset: from.offset + offset, ordinal: record, within: skip });
    while (pos < bytes.length && units.length < limit) {
      const where = `${this.options.file}: block at byte ${from.offset + pos}`;
      const block = readBlock(bytes, pos, this.header, this.options.maxUnitSize);
      if (block.kind === 'incomplete') {
        if (!final) break;
        units.push(
          this.rejected(
            new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: this.schema.name, message: 'the file ends inside a block' }),
            1,
            at(bytes.length),
          ),
        );
        pos = bytes.length;
        break;
      }
      if (block.kind === 'oversized') {
        record += block.count - within;
        units.push(this.rejected(tooLarge(where, this.schema, block.size, this.options.maxUnitSize), block.count - within, at(block.end)));
        // The block ends past this window: the next read starts after it.
        return { units, end: at(block.end) };
      }
      if (block.kind === 'corrupt') {
        const resume = nextSync(bytes, pos + 1, this.header);
        if (resume < 0 && !final && bytes.length <= this.options.maxUnitSize) break; // the next sync marker may come with more bytes
        const next = resume < 0 ? bytes.length : resume;
        units.push(this.rejected(new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: this.schema.name, message: block.message }), 1, at(next)));
        pos = next;
        within = 0;
        continue;
      }
      const values: T[] = [];
      try {
        for (let offset = 0, i = 0; i < block.count; i++) {
          const decoded = this.read(block.data, offset);
          if (decoded.offset < 0) throw new Error(`block ends inside record ${i + 1} of ${block.count}`);
          offset = decoded.offset;
          values.push(decoded.value);
        }
      } catch (err) {
        record += block.count - within;
        const message = err instanceof Error ? err.message : String(err);
        units.push(
          this.rejected(new SluiceError('SLUICE_ERR_RECORD_UNDECODABLE', { where, schema: this.schema.name, message }), block.count - within, at(block.end)),
        );
        pos = block.end;
        within = 0;
        continue;
      }
      for (let i = within; i < values.length; i++) {
        record += 1;
        const last = i === values.length - 1;
        units.push({ ok: true, value: values[i] as T, end: last ? at(block.end) : at(pos, i + 1) });
      }
      pos = block.end;
      within = 0;
    }
    return { units, end: at(pos, within) };
  }

  private rejected(error: Error, count: number, end: FilePosition): DecodedUnit<T> {
    return { ok: false, error, end, count: Math.max(count, 1) };
  }
}

export const avroContainer: FileFormat = {
  extension: 'avro',
  decoder(schema, head, _final, options) {
    const header = readContainerHeader(head, options.file, schema.name);
    return header && new ContainerDecoder(schema, header, options);
  },
  encoder<T>(schema: Schema<T>, options: { readonly avroCodec: 'null' | 'deflate' }) {
    const writer = new ContainerWriter(schema, options.avroCodec);
    return { header: () => writer.header(), encode: (values: readonly T[]) => (values.length === 0 ? Buffer.alloc(0) : writer.block(values)) };
  },
};
