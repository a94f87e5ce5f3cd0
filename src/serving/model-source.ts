/**
 * Where an embedded model comes from, the same for every executor: the descriptor's own bytes
 * (model as data), or a local file its `modelSourceLocation` names by path or `file://` URL.
 * Every failure is a SLUICE_ERR_MODEL_INVALID naming the model and what is wrong.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { messageOf, SluiceError } from '../core/errors.js';
import type { ModelDescriptor } from './descriptor.js';

export function invalidModel(descriptor: ModelDescriptor, message: string, cause?: unknown): SluiceError<'SLUICE_ERR_MODEL_INVALID'> {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', { modelName: descriptor.modelName, message }, cause === undefined ? undefined : { cause });
}

/** A file path for `file:` URLs and plain paths; undefined for any other URL scheme. */
export function localPath(location: string): string | undefined {
  if (location.startsWith('file:')) {
    try {
      return fileURLToPath(location);
    } catch {
      return undefined;
    }
  }
  // A scheme of two or more letters (http:, s3:, nats-obj:...) is remote; one letter and ':' is a Windows drive.
  return /^[a-z][a-z0-9+.-]+:/i.test(location) ? undefined : location;
}

export type ModelSource = { readonly bytes: Uint8Array } | { readonly path: string };

/**
 * The descriptor's bytes, or the local path of its location. `reads` says, for the message on an
 * unsupported location, what the executor can read (e.g. "a local file path or a file:// URL").
 */
export function modelSourceOf(descriptor: ModelDescriptor, executor: string, reads: string): ModelSource {
  const { modelBytes, modelSourceLocation: location } = descriptor;
  if (modelBytes !== null && modelBytes.length > 0) return { bytes: modelBytes };
  if (location === null || location === '') {
    throw invalidModel(descriptor, modelBytes === null ? 'the descriptor has neither model bytes nor a modelSourceLocation' : 'the model bytes are empty');
  }
  const path = localPath(location);
  if (path === undefined) {
    throw invalidModel(
      descriptor,
      `unsupported modelSourceLocation '${location}': the ${executor} executor reads ${reads} (or takes the model in the descriptor's bytes)`,
    );
  }
  return { path };
}

/** The model's bytes, from the descriptor or read from the local file it names. */
export async function modelBytesOf(descriptor: ModelDescriptor, executor: string): Promise<Uint8Array> {
  const source = modelSourceOf(descriptor, executor, 'a local file path or a file:// URL');
  return 'bytes' in source ? source.bytes : readModelFile(descriptor, source.path);
}

export async function readModelFile(descriptor: ModelDescriptor, path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw invalidModel(descriptor, `cannot read model file ${path}: ${messageOf(err)}`, err);
  }
  if (bytes.length === 0) throw invalidModel(descriptor, `model file ${path} is empty`);
  return bytes;
}
