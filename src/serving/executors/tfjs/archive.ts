/**
 * The TF.js model archive: how a TensorFlow.js model travels as *one* blob of bytes (in a
 * model descriptor, on a volume, in an object store).
 *
 * Format: a ZIP archive holding `model.json` (TF.js's own model JSON: `modelTopology`,
 * `format`, `weightsManifest`, optional `signature`, `userDefinedMetadata`...) and every weight
 * file its `weightsManifest` names, at the paths it names, relative to `model.json`. `model.json`
 * sits at the archive's root, or in its one top-level folder (zipping a model's directory gives
 * that). Other entries are ignored. Archives written here hold `model.json` (deflated) and one
 * `weights.bin` (stored: float weights barely compress) with a fixed timestamp, so the same
 * model always gives the same bytes.
 *
 * Reading checks, with an error that names what is wrong: the bytes are a ZIP; `model.json` is
 * there and is JSON with a `modelTopology` object; the manifest is well formed; every weight
 * file it names is present and intact (its CRC-32 matches); and each manifest group's files hold
 * exactly the bytes its weights' shapes and dtypes need.
 */
import * as zlib from 'node:zlib';
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
// Types only: the archive format needs no TF.js at run time.
import type * as tf from '@tensorflow/tfjs';

type ModelArtifacts = tf.io.ModelArtifacts;
type ModelJSON = tf.io.ModelJSON;
type WeightsManifestEntry = tf.io.WeightsManifestEntry;
type WeightsManifestGroupConfig = tf.io.WeightsManifestConfig[number];

/** A TF.js model archive (or model directory) that cannot give a model; the message says why. */
export class TfjsArchiveError extends Error {
  override readonly name = 'TfjsArchiveError';
}

export interface UnpackOptions {
  /** Refuse archives whose files would inflate to more than this; default 1 GiB. */
  readonly maxBytes?: number;
}

/** The name of the model JSON inside an archive or a model directory. */
export const modelJsonName = 'model.json';
/** The weight file name archives written by {@link packTfjsArchive} use. */
export const weightsFileName = 'weights.bin';

const defaultMaxBytes = 1024 ** 3;
// DOS timestamps start in 1980 and are local time: a local-time Date gives the same fields
// (and so the same archive bytes) in every time zone.
const fixedTime = new Date(1980, 0, 1, 0, 0, 0);

/** Packs a model's artifacts (as `model.save(tf.io.withSaveHandler(...))` hands them) into one archive. */
export function packTfjsArchive(artifacts: ModelArtifacts): Uint8Array {
  const { modelTopology } = artifacts;
  if (modelTopology === undefined || modelTopology === null) throw new TfjsArchiveError('the model artifacts have no modelTopology');
  if (modelTopology instanceof ArrayBuffer) {
    throw new TfjsArchiveError('the model topology is a binary GraphDef; only JSON topologies (model.json) can be archived');
  }
  const weightSpecs = artifacts.weightSpecs ?? [];
  const weightData = joinBuffers([artifacts.weightData ?? []].flat());
  if (weightSpecs.length === 0 && weightData.length > 0)
    throw new TfjsArchiveError(`the model has ${weightData.length} bytes of weight data but no weight specs`);
  const group: WeightsManifestGroupConfig = { paths: [weightsFileName], weights: weightSpecs };
  checkGroupSize(group, 0, weightData.length, 'the model artifacts');

  const manifest: tf.io.WeightsManifestConfig = weightSpecs.length > 0 ? [group] : [];
  const modelJson: ModelJSON = {
    modelTopology,
    weightsManifest: manifest,
    ...(artifacts.format !== undefined && { format: artifacts.format }),
    ...(artifacts.generatedBy !== undefined && { generatedBy: artifacts.generatedBy }),
    ...(artifacts.convertedBy !== undefined && { convertedBy: artifacts.convertedBy }),
    ...(artifacts.signature !== undefined && { signature: artifacts.signature }),
    ...(artifacts.userDefinedMetadata !== undefined && { userDefinedMetadata: artifacts.userDefinedMetadata }),
    ...(artifacts.modelInitializer !== undefined && { modelInitializer: artifacts.modelInitializer }),
    ...(artifacts.initializerSignature !== undefined && { initializerSignature: artifacts.initializerSignature }),
    ...(artifacts.trainingConfig !== undefined && { trainingConfig: artifacts.trainingConfig }),
  };
  const files: Zippable = { [modelJsonName]: [strToU8(JSON.stringify(modelJson)), { level: 6, mtime: fixedTime }] };
  if (manifest.length > 0) files[weightsFileName] = [weightData, { level: 0, mtime: fixedTime }];
  return zipSync(files);
}

/** Reads an archive back into model artifacts, ready for `tf.io.fromMemory`. Throws {@link TfjsArchiveError}. */
export function unpackTfjsArchive(bytes: Uint8Array, options: UnpackOptions = {}): ModelArtifacts {
  const maxBytes = options.maxBytes ?? defaultMaxBytes;
  let entries: Map<string, ZipEntry>;
  try {
    entries = readCentralDirectory(bytes);
  } catch (err) {
    if (err instanceof TfjsArchiveError) throw err;
    throw new TfjsArchiveError(`the archive is corrupt: its central directory cannot be read (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  const root = modelRoot([...entries.keys()]);
  const extract = (names: ReadonlySet<string>): Record<string, Uint8Array> => {
    let total = 0;
    for (const name of names) total += entries.get(name)?.originalSize ?? 0;
    if (total > maxBytes) throw new TfjsArchiveError(`the archive's model files inflate to ${total} bytes, more than the limit of ${maxBytes}`);
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(bytes, { filter: (file) => names.has(file.name) });
    } catch (err) {
      throw new TfjsArchiveError(`the archive is corrupt: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    for (const name of names) {
      const data = files[name];
      const entry = entries.get(name);
      if (data === undefined || entry === undefined) throw new TfjsArchiveError(`the archive entry '${name}' cannot be read`);
      if (data.length !== entry.originalSize || (crc32 !== undefined && crc32(data) >>> 0 !== entry.crc)) {
        throw new TfjsArchiveError(`the archive entry '${name}' is corrupt (its size or CRC-32 does not match the archive's directory)`);
      }
    }
    return files;
  };

  const jsonPath = `${root}${modelJsonName}`;
  const modelJson = parseModelJson(extract(new Set([jsonPath]))[jsonPath] as Uint8Array, `the archive's ${jsonPath}`);
  const paths = weightPaths(modelJson);
  const missing = [...paths].filter((p) => !entries.has(root + p));
  if (missing.length > 0) {
    throw new TfjsArchiveError(
      `weight file${missing.length > 1 ? 's' : ''} ${missing.map((p) => `'${p}'`).join(', ')} named by the weightsManifest ` +
        `${missing.length > 1 ? 'are' : 'is'} missing from the archive (it holds ${listing([...entries.keys()])})`,
    );
  }
  const files = extract(new Set([...paths].map((p) => root + p)));
  return assembleArtifacts(modelJson, (path) => files[root + path], 'the archive');
}

/**
 * Parses and checks a `model.json`: JSON, an object with a `modelTopology` object and a well
 * formed `weightsManifest` (an absent manifest means no weights).
 */
export function parseModelJson(bytes: Uint8Array, where: string): ModelJSON {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TfjsArchiveError(`${where} is not UTF-8 text`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TfjsArchiveError(`${where} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObject(json)) throw new TfjsArchiveError(`${where} must hold a JSON object`);
  if (!isObject(json.modelTopology)) throw new TfjsArchiveError(`${where} has no modelTopology object`);
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new TfjsArchiveError(`${where}: weightsManifest must be an array of groups`);
  manifest.forEach((group: unknown, g) => checkGroup(group, g, where));
  return { ...(json as unknown as ModelJSON), weightsManifest: manifest as tf.io.WeightsManifestConfig };
}

/** The weight file paths a checked model.json names, normalised and relative to model.json. */
export function weightPaths(modelJson: ModelJSON): Set<string> {
  const paths = new Set<string>();
  for (const group of modelJson.weightsManifest) for (const path of group.paths) paths.add(normalisePath(path));
  return paths;
}

/**
 * Builds artifacts from a checked model.json and its weight files (`read` gives a file by its
 * normalised manifest path), checking each group's files against its weights' sizes.
 */
export function assembleArtifacts(modelJson: ModelJSON, read: (path: string) => Uint8Array | undefined, where: string): ModelArtifacts {
  const chunks: Uint8Array[] = [];
  modelJson.weightsManifest.forEach((group, g) => {
    let groupBytes = 0;
    for (const path of group.paths) {
      const data = read(normalisePath(path));
      if (data === undefined) throw new TfjsArchiveError(`weight file '${path}' named by the weightsManifest is missing from ${where}`);
      chunks.push(data);
      groupBytes += data.length;
    }
    checkGroupSize(group, g, groupBytes, where);
  });
  const { weightsManifest, ...rest } = modelJson;
  return {
    ...rest,
    weightSpecs: weightsManifest.flatMap((group) => group.weights),
    weightData: joinBuffers(chunks).buffer,
  };
}

/** One buffer holding the given ones, in order (always a fresh, exactly sized copy). */
function joinBuffers(buffers: readonly (ArrayBuffer | Uint8Array)[]): Uint8Array<ArrayBuffer> {
  const views = buffers.map((b) => (b instanceof Uint8Array ? b : new Uint8Array(b)));
  const joined = new Uint8Array(views.reduce((sum, v) => sum + v.length, 0));
  let offset = 0;
  for (const view of views) {
    joined.set(view, offset);
    offset += view.length;
  }
  return joined;
}

const dtypeBytes: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

function checkGroup(group: unknown, g: number, where: string): void {
  const at = `${where}: weightsManifest[${g}]`;
  if (!isObject(group)) throw new TfjsArchiveError(`${at} must be an object with paths and weights`);
  if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string' && p !== '')) {
    throw new TfjsArchiveError(`${at}.paths must be an array of file names`);
  }
  for (const path of group.paths as string[]) normalisePath(path, at);
  if (!Array.isArray(group.weights)) throw new TfjsArchiveError(`${at}.weights must be an array`);
  group.weights.forEach((entry: unknown, w) => {
    const name = isObject(entry) && typeof entry.name === 'string' ? entry.name : undefined;
    const where = `${at}.weights[${w}]${name === undefined ? '' : ` ('${name}')`}`;
    if (!isObject(entry) || name === undefined) throw new TfjsArchiveError(`${where} must have a name`);
    if (!Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new TfjsArchiveError(`${where} has no valid shape (an array of non-negative integers)`);
    }
    if (typeof entry.dtype !== 'string' || !['float32', 'int32', 'bool', 'string', 'complex64'].includes(entry.dtype)) {
      throw new TfjsArchiveError(`${where} has unknown dtype ${JSON.stringify(entry.dtype)}`);
    }
    const quantization = entry.quantization;
    if (quantization !== undefined && (!isObject(quantization) || !['uint8', 'uint16', 'float16'].includes(String(quantization.dtype)))) {
      throw new TfjsArchiveError(`${where} has an unknown quantization`);
    }
  });
}

/** A group's files must hold exactly what its weights need (string weights: at least their length prefixes). */
function checkGroupSize(group: WeightsManifestGroupConfig, g: number, actual: number, where: string): void {
  let needed = 0;
  let strings = false;
  for (const entry of group.weights) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.dtype === 'string') {
      strings = true;
      needed += 4 * count; // each string is a 4-byte length, then its bytes
    } else {
      needed += count * (dtypeBytes[entry.quantization?.dtype ?? entry.dtype] ?? NaN);
    }
  }
  if (strings ? actual < needed : actual !== needed) {
    throw new TfjsArchiveError(
      `${where}: the weight file${group.paths.length > 1 ? 's' : ''} of weightsManifest[${g}] (${group.paths.join(', ')}) ` +
        `hold ${actual} bytes but its ${group.weights.length} weight(s) need ${strings ? 'at least ' : ''}${needed}`,
    );
  }
}

/** A manifest path made relative and plain ('./a.bin' → 'a.bin'); absolute or escaping paths are refused. */
function normalisePath(path: string, where = 'the weightsManifest'): string {
  const parts = path
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  if (path.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(path) || parts.includes('..') || parts.length === 0) {
    throw new TfjsArchiveError(`${where} names weight file '${path}', which is not a plain path relative to model.json`);
  }
  return parts.join('/');
}

/** Where model.json sits: the root, or the one top-level folder that holds it. */
function modelRoot(names: readonly string[]): string {
  if (names.includes(modelJsonName)) return '';
  const nested = names.filter((n) => /^[^/]+\/model\.json$/.test(n));
  if (nested.length === 1) return (nested[0] as string).slice(0, -modelJsonName.length);
  throw new TfjsArchiveError(
    nested.length > 1
      ? `the archive holds several model.json files (${nested.join(', ')}); it must hold one model`
      : `the archive has no model.json (it holds ${listing(names)})`,
  );
}

interface ZipEntry {
  readonly crc: number;
  readonly originalSize: number;
}

/** The archive's central directory: each file's CRC-32 and size, by name. */
function readCentralDirectory(bytes: Uint8Array): Map<string, ZipEntry> {
  const notZip = (why: string) =>
    new TfjsArchiveError(`the model bytes are not a ZIP archive (${why}); a TF.js model travels as one zip holding model.json and its weight files`);
  if (bytes.length < 22) throw notZip(`only ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw notZip(bytes[0] === 0x50 && bytes[1] === 0x4b ? 'no end-of-central-directory record: truncated?' : 'no ZIP signature');
  let count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  // ZIP64: the real count and offset are in the ZIP64 end record.
  if ((count === 0xffff || offset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const zip64 = Number(view.getBigUint64(eocd - 12, true));
    if (zip64 + 56 <= bytes.length && view.getUint32(zip64, true) === 0x06064b50) {
      count = Number(view.getBigUint64(zip64 + 32, true));
      offset = Number(view.getBigUint64(zip64 + 48, true));
    }
  }
  const entries = new Map<string, ZipEntry>();
  for (let i = 0; i < count; i++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) {
      throw new TfjsArchiveError(`the archive is corrupt: central directory entry ${i} of ${count} is damaged`);
    }
    const crc = view.getUint32(offset + 16, true);
    let originalSize = view.getUint32(offset + 24, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const name = strFromU8(bytes.subarray(offset + 46, offset + 46 + nameLength));
    if (originalSize === 0xffffffff) {
      // The real size is in the ZIP64 extra field (id 1), first value.
      const extra = offset + 46 + nameLength;
      for (let at = extra; at + 4 <= extra + extraLength; at += 4 + view.getUint16(at + 2, true)) {
        if (view.getUint16(at, true) === 1) originalSize = Number(view.getBigUint64(at + 4, true));
      }
    }
    if (!name.endsWith('/')) entries.set(name, { crc, originalSize });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

// zlib.crc32 arrived in Node 20.15; on older Nodes the archive is read without the CRC check.
const crc32: ((data: Uint8Array) => number) | undefined = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

function listing(names: readonly string[]): string {
  if (names.length === 0) return 'no files';
  const shown = names
    .slice(0, 8)
    .map((n) => `'${n}'`)
    .join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
