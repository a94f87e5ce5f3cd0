/**
 * The one data plane every protocol adapter calls: liveness, readiness, metadata, and inference
 * on a resolved model version. Requests are checked here against the version's signature, the
 * same way for every protocol, so a wrong request gets the same message whichever way it came.
 */
import { randomUUID } from 'node:crypto';
import { SluiceError } from '../core/errors.js';
import type { ModelMetadata } from '../serving/executor.js';
import type { NamedTensors, Tensor, TensorSpec } from '../serving/tensor.js';
import type { ModelRepository, ServedVersion, VersionReport } from './repository.js';
import type { Feedback } from './servable.js';

export interface ServerInfo {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

export class DataPlane {
  private stopping = false;

  constructor(
    private readonly repository: ModelRepository,
    readonly info: ServerInfo,
  ) {}

  live(): boolean {
    return true;
  }

  /** Ready to infer: not shutting down, and every model in the repository has a version serving. */
  ready(): boolean {
    return !this.stopping && this.repository.ready();
  }

  /** From now on the server reports not ready (load balancers move away while in-flight work ends). */
  stop(): void {
    this.stopping = true;
  }

  models(): string[] {
    return this.repository.models();
  }

  /** The served version of a model: the one named, or the newest. Throws 404 / 503 errors naming what is missing. */
  model(name: string, version?: string): ServedModel {
    if (version === undefined || version === '') return new ServedModel(this.repository.newest(name));
    if (!this.repository.has(name)) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', { modelName: name });
    const served = this.repository.served(name);
    const number = /^\d{1,15}$/.test(version) ? Number(version) : undefined;
    const found = number === undefined ? undefined : this.repository.version(name, number);
    if (found?.state === 'available') return new ServedModel(found);
    if (found?.state === 'loading') throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', { modelName: name, message: `version ${version} is still loading` });
    const servedList = served.length > 0 ? `served: ${served.map((v) => v.version).join(', ')}` : 'no version is served';
    const why = found?.state === 'failed' ? `it failed to load (${found.reason}); ` : number === undefined ? 'versions are whole numbers; ' : '';
    throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', { modelName: name, version, message: `${why}${servedList}` });
  }

  /** Whether a model (or one version) takes requests; an unknown model is an error, not `false`. */
  modelReady(name: string, version?: string): boolean {
    if (!this.repository.has(name)) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', { modelName: name });
    if (this.stopping) return false;
    if (version === undefined || version === '') return this.repository.served(name).length > 0;
    return /^\d{1,15}$/.test(version) && this.repository.version(name, Number(version))?.state === 'available';
  }

  /** Versions a model serves, newest first. */
  servedVersions(name: string): string[] {
    return this.repository.served(name).map((v) => String(v.version));
  }

  /** Every version of one model (404 if unknown) or of every model, with its state and why it failed. */
  reports(name?: string): VersionReport[] {
    if (name !== undefined && !this.repository.has(name)) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', { modelName: name });
    return this.repository.reports(name);
  }
}

/** One served model version, resolved for one request. */
export class ServedModel {
  readonly name: string;
  readonly version: string;
  readonly platform: string;
  readonly signature: ModelMetadata;

  constructor(private readonly served: ServedVersion) {
    this.name = served.model;
    this.version = String(served.version);
    this.platform = served.servable?.platform ?? '';
    this.signature = served.signature ?? { inputs: [], outputs: [] };
  }

  input(name: string): TensorSpec | undefined {
    return this.signature.inputs.find((spec) => spec.name === name);
  }

  output(name: string): TensorSpec | undefined {
    return this.signature.outputs.find((spec) => spec.name === name);
  }

  /** What the model expects of an input, or a 400 error naming the inputs it does take. */
  expectInput(name: string): TensorSpec {
    return this.served.expectInput(name);
  }

  /**
   * Scores `inputs` (batched with concurrent requests) and returns the `outputs` asked for, in
   * that order, or every output in signature order. Every input is checked first: a missing,
   * unknown, wrongly typed or shaped tensor is a 400 error naming it and what was expected.
   * `id` names the request to a graph's routers, for feedback.
   */
  async infer(inputs: NamedTensors, outputs?: readonly string[], id?: string): Promise<NamedTensors> {
    const wanted = outputs && outputs.length > 0 ? outputs : this.signature.outputs.map((spec) => spec.name);
    for (const name of wanted) if (!this.output(name)) throw this.invalid(`it has no output '${name}' (outputs: ${names(this.signature.outputs)})`);
    const scored = await this.served.infer(inputs, id === undefined ? {} : { requestId: id });
    const result: Record<string, Tensor> = {};
    for (const name of wanted) {
      const tensor = scored[name];
      if (!tensor) throw new SluiceError('SLUICE_ERR_INFERENCE_FAILED', { modelName: this.name, message: `the model returned no output '${name}'` });
      result[name] = tensor;
    }
    return result;
  }

  /** A 400 error about this model version. */
  invalid(message: string): SluiceError<'SLUICE_ERR_INVALID_ARGUMENT'> {
    return this.served.invalid(message);
  }

  /** Whether the model routes requests (a graph with routers): its answers name their request, so feedback can credit the routes. */
  get routes(): boolean {
    return this.served.servable?.routes === true;
  }

  /** The request's id as given, or a new one when the model routes requests and none was given. */
  requestId(given: string | undefined): string | undefined {
    return given !== undefined && given !== '' ? given : this.routes ? randomUUID() : undefined;
  }

  /** The routes a request took (router → child index); empty unless the model routes. */
  routing(id: string): Readonly<Record<string, number>> {
    return this.served.servable?.routing?.(id) ?? {};
  }

  /** Credits a reward to the routes a request took; returns them. */
  feedback(feedback: Feedback): Readonly<Record<string, number>> {
    const servable = this.served.servable;
    if (!servable?.feedback) throw this.invalid('it is not an inference graph with a router: feedback has nothing to credit');
    return servable.feedback(feedback);
  }
}

function names(specs: readonly TensorSpec[]): string {
  return specs.map((spec) => `'${spec.name}'`).join(', ');
}
