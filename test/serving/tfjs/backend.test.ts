import { execFile } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTfjsExecutor, type TfjsBackend } from '../../../src/serving/executors/tfjs/index.js';
import { denseArchive, descriptor } from './fixtures.js';

const emitter: EventEmitter = process;
const listeners = () => ({ rejection: emitter.listeners('unhandledRejection'), exception: emitter.listeners('uncaughtException') });

describe('TF.js backends', () => {
  it("leave the process's unhandledRejection and uncaughtException listeners as they were", async () => {
    const before = listeners();
    for (const backend of ['wasm', 'cpu'] as const) {
      const model = await createTfjsExecutor({ backend }).load(descriptor('dense', await denseArchive()));
      await model.unload();
    }
    expect(listeners()).toEqual(before);
  });

  it('are wasm or cpu', () => {
    expect(() => createTfjsExecutor({ backend: 'webgl' as TfjsBackend })).toThrow(
      expect.objectContaining({ code: 'SLUICE_ERR_INVALID_ARGUMENT', message: "TF.js backend must be wasm or cpu, not 'webgl'" }),
    );
  });

  it('load with the first model: importing the executor loads no TF.js', async () => {
    const index = fileURLToPath(new URL('../../../src/serving/executors/tfjs/index.ts', import.meta.url));
    const script = `
      import { createRequire } from 'node:module';
      const { tfjsExecutor, packTfjsArchive } = await import(${JSON.stringify(index)});
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('@tensorflow'));
      console.log(JSON.stringify({ modelType: tfjsExecutor.modelType, pack: typeof packTfjsArchive, loaded }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ modelType: 'TENSORFLOWJS', pack: 'function', loaded: [] });
  });
});
