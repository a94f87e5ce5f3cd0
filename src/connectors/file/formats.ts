import { avroContainer } from './avro.js';
import { csv } from './csv.js';
import type { FileFormat, FileFormatName } from './format.js';
import { jsonLines } from './jsonl.js';

export const fileFormatsByName: Readonly<Record<FileFormatName, FileFormat>> = Object.freeze({ jsonl: jsonLines, csv, avro: avroContainer });
