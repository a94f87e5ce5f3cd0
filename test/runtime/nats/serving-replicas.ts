/**
 * Model-serving replicas on JetStream as the replica tests run them: each part of an
 * application in its own application instance (as separate processes would be), against the
 * system nats-server, with its own state directory; everything stopped and deleted at the end.
 */
import { rmSync } from 'node:fs';
import { runApplication, type StartedApplication } from '../../../src/app.js';
import { capturingLogger, tempDir } from '../../support/recommender.js';
import { deleteApplication, SYSTEM_NATS } from './support.js';

/** What the tests read of a replica's GET /state. */
export interface ServingState {
  name: string | null;
  usage: number;
  updates: { accepted: number };
  recordsWithoutModel: number;
}

export class ServingReplicas {
  private readonly running: StartedApplication[] = [];
  private readonly dirs: string[] = [];
  private readonly apps = new Set<string>();

  /** `modelsDirectory`: where the blueprint's `model-ingress` reads the models it publishes. */
  constructor(
    private readonly blueprint: string,
    private readonly modelsDirectory: string,
  ) {}

  /** Runs `streamlets` of application `app` in one instance; `more` are config overrides. */
  async start(app: string, streamlets: string[], ...more: string[]): Promise<StartedApplication> {
    const state = tempDir('sluice-nats-state-');
    this.dirs.push(state);
    this.apps.add(app);
    const run = await runApplication({
      blueprint: this.blueprint,
      runtime: 'nats',
      streamlets,
      log: capturingLogger().log,
      overrides: [
        `sluice.nats.url=${SYSTEM_NATS}`,
        `sluice.nats.application=${app}`,
        'sluice.http.port=0',
        `sluice.state-directory=${state}`,
        `model-ingress.models-directory=${this.modelsDirectory}`,
        ...more,
      ],
    });
    this.running.push(run);
    return run;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.map((r) => r.stop()));
    for (const app of this.apps) await deleteApplication(SYSTEM_NATS, app);
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** The replica's GET /state; undefined until its model-serving streamlet registered it. */
export const stateOf = (run: StartedApplication) => run.endpoints.view('/model-serving/state')?.() as ServingState | undefined;
