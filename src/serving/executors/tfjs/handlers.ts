/**
 * TF.js IOHandlers over the archive format, so that TF.js's own `tf.loadLayersModel`,
 * `tf.loadGraphModel` and `model.save(...)` read and write archives in memory or in local files.
 *
 * They are plain handler objects passed to those calls. Nothing is registered with
 * `tf.io.registerLoadRouter`/`registerSaveRouter`: those routers are process-wide, and a
 * library that claims a URL scheme for every TF.js user in the process would surprise them.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs';
import { packTfjsArchive, unpackTfjsArchive, type UnpackOptions } from './archive.js';

/** Anything TF.js can save through an IOHandler: a `tf.LayersModel` or a `tf.GraphModel`. */
export interface TfjsSavable {
  save(handlerOrURL: tf.io.IOHandler | string, config?: tf.io.SaveConfig): Promise<tf.io.SaveResult>;
}

/** Loads a model from archive bytes: `tf.loadLayersModel(archiveLoadHandler(bytes))`. */
export function archiveLoadHandler(archive: Uint8Array, options?: UnpackOptions): tf.io.IOHandler {
  return { load: async () => unpackTfjsArchive(archive, options) };
}

/** Saves a model as an archive and hands the bytes to `onSaved`: `model.save(archiveSaveHandler(...))`. */
export function archiveSaveHandler(onSaved: (archive: Uint8Array) => void | Promise<void>): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      const archive = packTfjsArchive(artifacts);
      await onSaved(archive);
      return { modelArtifactsInfo: artifactsInfo(artifacts) };
    },
  };
}

/** The archive of a model, in memory. */
export async function saveTfjsArchive(model: TfjsSavable): Promise<Uint8Array> {
  let saved: Uint8Array | undefined;
  await model.save(
    archiveSaveHandler((archive) => {
      saved = archive;
    }),
  );
  if (saved === undefined) throw new Error('the model was saved without handing over its artifacts');
  return saved;
}

/**
 * Loads from and saves to an archive file on the local disk (what a `file://` handler would
 * do). A save writes a temporary file beside the target and renames it, so a reader never
 * sees half an archive.
 */
export function archiveFileHandler(path: string, options?: UnpackOptions): tf.io.IOHandler {
  return {
    load: async () => unpackTfjsArchive(await readFile(path), options),
    save: async (artifacts) => {
      const archive = packTfjsArchive(artifacts);
      const temp = `${path}.${randomUUID()}.tmp`;
      try {
        await writeFile(temp, archive);
        await rename(temp, path);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      return { modelArtifactsInfo: artifactsInfo(artifacts) };
    },
  };
}

function artifactsInfo(artifacts: tf.io.ModelArtifacts): tf.io.ModelArtifactsInfo {
  const topology = artifacts.modelTopology;
  return {
    dateSaved: new Date(),
    modelTopologyType: topology instanceof ArrayBuffer ? 'GraphDef' : 'JSON',
    modelTopologyBytes: topology instanceof ArrayBuffer ? topology.byteLength : JSON.stringify(topology ?? null).length,
    weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
    weightDataBytes: [artifacts.weightData ?? []].flat().reduce((sum, buffer) => sum + buffer.byteLength, 0),
  };
}
