/**
 * The model an explainer explains, and how it changes: an update loads and checks the new model
 * completely before it replaces the old one; a rejected update leaves everything as it was; the
 * old model is unloaded once the explanations using it end.
 */
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ModelDescriptor } from '../../serving/descriptor.js';
import type { LoadedModel } from '../../serving/executor.js';
import type { ExecutorRegistry } from '../../serving/registry.js';
import type { Predict } from './attribution.js';
import type { ModelFeatures } from './model-features.js';

export interface InstalledModel {
  readonly name: string;
  /** When it was installed here (ms since the epoch). */
  readonly since: number;
  readonly predict: Predict;
}

interface Holding extends InstalledModel {
  readonly model: LoadedModel;
  users: number;
  retired: boolean;
}

export class ExplainedModel<V> {
  private current: Holding | undefined;
  private rejectedUpdates = 0;

  constructor(
    private readonly executors: ExecutorRegistry,
    private readonly features: ModelFeatures<V>,
    private readonly log: Logger,
  ) {}

  get installed(): InstalledModel | undefined {
    return this.current;
  }

  /** Updates rejected so far. */
  get rejected(): number {
    return this.rejectedUpdates;
  }

  /** Loads and installs the model; never throws: a model that cannot be explained is logged and counted. */
  async install(descriptor: ModelDescriptor): Promise<boolean> {
    let model: LoadedModel | undefined;
    try {
      model = await this.executors.load(descriptor);
      const problems = this.features.check(model.metadata());
      if (problems.length > 0) throw new SluiceError('SLUICE_ERR_MODEL_SIGNATURE', { modelName: descriptor.modelName, message: problems.join('; ') });
    } catch (err) {
      await model?.unload().catch(() => undefined);
      this.rejectedUpdates++;
      this.log.error('model update rejected by the explainer; the current model keeps being explained', {
        model: descriptor.modelName,
        error: messageOf(err),
        explaining: this.current?.name ?? null,
      });
      return false;
    }
    const previous = this.current;
    this.current = { name: descriptor.modelName, since: Date.now(), model, predict: this.features.predictor(model), users: 0, retired: false };
    this.log.info('explaining a new model', { model: descriptor.modelName });
    if (previous) await this.retire(previous);
    return true;
  }

  /** Runs `explain` with the installed model, which stays loaded until it ends; undefined without a model. */
  async use<T>(explain: (model: InstalledModel) => Promise<T>): Promise<T | undefined> {
    const holding = this.current;
    if (!holding) return undefined;
    holding.users++;
    try {
      return await explain(holding);
    } finally {
      holding.users--;
      if (holding.retired && holding.users === 0) await this.unload(holding);
    }
  }

  async close(): Promise<void> {
    const holding = this.current;
    this.current = undefined;
    if (holding) await this.retire(holding);
  }

  private async retire(holding: Holding): Promise<void> {
    holding.retired = true;
    if (holding.users === 0) await this.unload(holding);
  }

  private async unload(holding: Holding): Promise<void> {
    await holding.model.unload().catch((err: unknown) => this.log.warn('unloading a retired model failed', { model: holding.name, error: messageOf(err) }));
  }
}
