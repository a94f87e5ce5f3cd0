import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from '../core/config.js';
import { defineStreamlet, outlet } from '../core/streamlet.js';
import { ModelDescriptorSchema, type ModelDescriptor, type ModelType } from './descriptor.js';

/** Model file extensions and the model type each one means. */
const typeByExtension: Readonly<Record<string, ModelType>> = { '.onnx': 'ONNX', '.pmml': 'PMML', '.tfjs': 'TENSORFLOWJS' };

/**
 * A streamlet that publishes model descriptors from a folder, one every `interval`, cycling
 * through the models in name order: model updates as a stream. A `<model>.json` beside a model
 * file may give its `description`. `defaultDirectory` is where it looks unless configured.
 */
export function modelIngress(defaultDirectory: string) {
  return defineStreamlet({
    description: 'Publishes the models of a folder as model descriptors, cycling, at an interval',
    outlets: { out: outlet(ModelDescriptorSchema, (d) => d.modelName) },
    config: {
      'models-directory': config.string({
        description: 'Folder of model files (.onnx, .pmml, .tfjs); relative paths are resolved against the working directory',
        default: defaultDirectory,
      }),
      'initial-delay': config.duration({ description: 'Time before the first model update', default: 0, min: 0 }),
      interval: config.duration({ description: 'Time between two model updates', default: 5_000, min: 1 }),
      cycle: config.boolean({ description: 'Start again from the first model after the last', default: true }),
    },
    async run(ctx) {
      const directory = resolve(ctx.config['models-directory']);
      const descriptors = await readModels(directory);
      if (descriptors.length === 0) throw new Error(`no model files (${Object.keys(typeByExtension).join(', ')}) in ${directory}`);
      ctx.log.info('publishing models', { directory, models: descriptors.map((d) => d.modelName) });
      await sleep(ctx.config['initial-delay'], undefined, { signal: ctx.signal }).catch(() => undefined);
      for (let i = 0; !ctx.signal.aborted; i++) {
        if (i === descriptors.length && !ctx.config.cycle) break;
        await ctx.emit('out', descriptors[i % descriptors.length] as ModelDescriptor);
        await sleep(ctx.config.interval, undefined, { signal: ctx.signal }).catch(() => undefined);
      }
    },
  });
}

async function readModels(directory: string): Promise<ModelDescriptor[]> {
  const files = (await readdir(directory)).filter((f) => extname(f) in typeByExtension).sort();
  return Promise.all(
    files.map(async (file) => {
      const modelName = basename(file, extname(file));
      const sidecar = await readFile(join(directory, `${modelName}.json`), 'utf8').catch(() => undefined);
      const description = sidecar ? String((JSON.parse(sidecar) as { description?: unknown }).description ?? '') : '';
      return {
        modelName,
        description: description || `${modelName} from ${file}`,
        modelType: typeByExtension[extname(file)] ?? 'UNKNOWN',
        modelBytes: await readFile(join(directory, file)),
        modelSourceLocation: null,
      };
    }),
  );
}
