import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRecommenderModel, recommenderModels } from '../../examples/recommender/models/build-models.js';
import type { RecommenderRecord, RecommenderResult } from '../../examples/recommender/schemas.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import type { ModelDescriptor } from '../../src/serving/descriptor.js';

export function tempDir(prefix = 'sluice-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Descriptor of one of the shipped recommender models ('recommender-a' or 'recommender-b'). */
export function recommenderDescriptor(name: 'recommender-a' | 'recommender-b'): ModelDescriptor {
  const options = recommenderModels.find((m) => m.name === name);
  if (!options) throw new Error(`no model ${name}`);
  return {
    modelName: name,
    description: options.description,
    modelType: 'ONNX',
    modelBytes: Buffer.from(buildRecommenderModel(options)),
    modelSourceLocation: null,
  };
}

/** Record `i` of a deterministic stream; `user` is unique per record so results can be matched to inputs. */
export function recommenderRecord(i: number): RecommenderRecord {
  return { user: i % 1000, products: Array.from({ length: 1 + (i % 30) }, (_, k) => (i * 7 + k * 13) % 300), datatype: `seq-${i}` };
}

export const results = (values: readonly unknown[]) => values as readonly RecommenderResult[];

/** A logger that keeps every line, to assert on what was logged. */
export function capturingLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: 'debug', write: (line) => lines.push(line) }), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
