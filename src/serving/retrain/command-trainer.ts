/**
 * An external trainer: a command line, run without a shell, that reads the training records
 * from a JSON-lines file and writes a model file. Each run gets a fresh directory under the work
 * directory holding `feedback.jsonl` (one `{"record": ..., "label": ...}` per line: the format of
 * the validation gate's labelled sets) and the path the model must be written to; the directory
 * is removed afterwards. The command is killed when it runs past its timeout or the retrain
 * streamlet stops.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { ModelType } from '../descriptor.js';
import { labelledJsonLines } from './labelled-lines.js';
import type { TrainedModel, Trainer, TrainingSet } from './trainer.js';

/** The placeholders a command line must hold: replaced by the training file's and the model file's paths. */
export const FEEDBACK_PLACEHOLDER = '{feedback}';
export const MODEL_PLACEHOLDER = '{model}';

/** The model types an external command can write, with the file extension it is given. */
export const commandModelTypes = { ONNX: '.onnx', TENSORFLOWJS: '.tfjs', PMML: '.pmml' } as const satisfies Partial<Record<ModelType, string>>;
export type CommandModelType = keyof typeof commandModelTypes;

export interface CommandTrainerSettings {
  /** Program and arguments separated by spaces; double quotes keep spaces inside one argument. */
  readonly command: string;
  readonly modelType: CommandModelType;
  readonly timeoutMs: number;
  /** Where each run's directory is made. */
  readonly workDirectory: string;
}

/** Most of the command's stderr quoted in an error. */
const STDERR_TAIL = 600;

/** The program and its arguments; throws an Error saying what is wrong with the line. */
export function parseCommandLine(line: string): { readonly program: string; readonly args: readonly string[] } {
  if ((line.match(/"/g)?.length ?? 0) % 2 === 1) throw new Error(`has an unmatched double quote: ${line}`);
  const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  const [program, ...args] = words;
  if (program === undefined || program === '') throw new Error('names no program');
  for (const placeholder of [FEEDBACK_PLACEHOLDER, MODEL_PLACEHOLDER]) {
    if (!words.some((w) => w.includes(placeholder))) throw new Error(`must pass ${placeholder} to the program (got: ${line})`);
  }
  return { program, args };
}

export function commandTrainer<Data>(settings: CommandTrainerSettings): Trainer<Data> {
  const { program, args } = parseCommandLine(settings.command);
  const name = `command ${basename(program)}`;
  const failed = (message: string, cause?: unknown) =>
    new SluiceError('SLUICE_ERR_TRAINING_FAILED', { trainer: name, message }, cause === undefined ? undefined : { cause });
  return {
    name,
    async train(set: TrainingSet<Data>, signal: AbortSignal): Promise<TrainedModel> {
      await mkdir(settings.workDirectory, { recursive: true });
      const directory = await mkdtemp(join(settings.workDirectory, 'train-'));
      try {
        const feedback = join(directory, 'feedback.jsonl');
        const model = join(directory, `model${commandModelTypes[settings.modelType]}`);
        await writeFile(feedback, labelledJsonLines(set));
        const fill = (arg: string) => arg.replaceAll(FEEDBACK_PLACEHOLDER, feedback).replaceAll(MODEL_PLACEHOLDER, model);
        const started = performance.now();
        await run(program, args.map(fill), settings.timeoutMs, signal).catch((err: unknown) => {
          throw failed(whyFailed(err, settings.timeoutMs, signal), err);
        });
        const bytes = await readFile(model).catch((err: unknown) => {
          throw failed(`the command ended well but wrote no model file at ${model} (${messageOf(err)})`, err);
        });
        if (bytes.length === 0) throw failed(`the command wrote an empty model file at ${model}`);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        return {
          modelType: settings.modelType,
          modelBytes: bytes,
          description: `${settings.modelType} model written by \`${settings.command}\` from ${set.records.length} records in ${seconds} s`,
        };
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}

interface ExecFailure extends Error {
  readonly code?: number | string | null;
  readonly killed?: boolean;
  readonly signal?: NodeJS.Signals | null;
  readonly stderr?: string;
}

function run(program: string, args: readonly string[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // SIGKILL: a trainer past its time must not linger because it ignores SIGTERM.
    execFile(program, args, { timeout: timeoutMs, killSignal: 'SIGKILL', signal, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (err, _stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve();
    });
  });
}

function whyFailed(err: unknown, timeoutMs: number, signal: AbortSignal): string {
  const failure = err as ExecFailure;
  const stderr = (failure.stderr ?? '').trim();
  const tail = stderr === '' ? '' : `: ${stderr.length > STDERR_TAIL ? `…${stderr.slice(-STDERR_TAIL)}` : stderr}`;
  if (signal.aborted) return `stopped: ${messageOf(signal.reason)}`;
  if (failure.code === 'ENOENT') return `cannot start the program: ${failure.message}`;
  if (failure.killed && failure.signal === 'SIGKILL') return `the command ran past command-timeout (${timeoutMs} ms) and was killed${tail}`;
  if (typeof failure.code === 'number') return `the command exited with code ${failure.code}${tail}`;
  if (failure.signal) return `the command was killed by ${failure.signal}${tail}`;
  return messageOf(err);
}
