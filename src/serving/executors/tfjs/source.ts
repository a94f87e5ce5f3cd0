/**
 * Where a TF.js model's artifacts come from: the descriptor's bytes (one archive), or its
 * `modelSourceLocation`, a local path or `file://` URL naming an archive file (`.zip`,
 * `.tfjs`, any name), a directory holding `model.json` and its weight files, or such a
 * `model.json` itself.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { messageOf } from '../../../core/errors.js';
import type { ModelDescriptor } from '../../descriptor.js';
import { invalidModel, modelSourceOf, readModelFile } from '../../model-source.js';
import { assembleArtifacts, modelJsonName, parseModelJson, TfjsArchiveError, unpackTfjsArchive, weightPaths } from './archive.js';

/** The model's artifacts, checked; any failure is a SLUICE_ERR_MODEL_INVALID naming the problem. */
export async function artifactsOf(descriptor: ModelDescriptor): Promise<tf.io.ModelArtifacts> {
  const source = modelSourceOf(descriptor, 'TF.js', 'a local archive file, a model directory or a model.json, by path or file:// URL');
  if ('bytes' in source) return archived(descriptor, () => unpackTfjsArchive(source.bytes));
  const { path } = source;
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (err) {
    throw invalidModel(descriptor, `cannot read model location ${path}: ${messageOf(err)}`, err);
  }
  if (isDirectory) return readModelDirectory(descriptor, path, join(path, modelJsonName));
  if (basename(path) === modelJsonName) return readModelDirectory(descriptor, dirname(path), path);
  const bytes = await readModelFile(descriptor, path);
  return archived(descriptor, () => unpackTfjsArchive(bytes), ` (${path})`);
}

/** A model directory as TF.js writes it: model.json plus the weight files its manifest names. */
async function readModelDirectory(descriptor: ModelDescriptor, directory: string, jsonPath: string): Promise<tf.io.ModelArtifacts> {
  let jsonBytes: Uint8Array;
  try {
    jsonBytes = await readFile(jsonPath);
  } catch (err) {
    throw invalidModel(descriptor, `cannot read ${jsonPath}: ${messageOf(err)}`, err);
  }
  const modelJson = archived(descriptor, () => parseModelJson(jsonBytes, jsonPath));
  const files = new Map<string, Uint8Array>();
  for (const path of weightPaths(modelJson)) {
    try {
      files.set(path, await readFile(join(directory, path)));
    } catch (err) {
      throw invalidModel(descriptor, `weight file '${path}' named by ${jsonPath} cannot be read: ${messageOf(err)}`, err);
    }
  }
  return archived(descriptor, () => assembleArtifacts(modelJson, (path) => files.get(path), directory));
}

/** Runs an archive step, turning its TfjsArchiveError into the executor's coded error. */
function archived<T>(descriptor: ModelDescriptor, step: () => T, where = ''): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof TfjsArchiveError) throw invalidModel(descriptor, `${err.message}${where}`, err);
    throw err;
  }
}
