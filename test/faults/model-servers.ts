/**
 * Real `sluice serve` child processes for the model-server fault scenarios: each serves the
 * recommender ONNX model from a repository of its own on fixed ports, so it can be killed with
 * SIGKILL, frozen with SIGSTOP (a server that answers too late) and started again on the same
 * ports. Plus the reference scores a remote call must give, from the ONNX executor directly.
 */
import { rmSync } from 'node:fs';
import type { RecommenderRecord } from '../../examples/recommender/schemas.js';
import { SluiceProcess } from '../support/cli.js';
import { freePort } from '../runtime/nats/support.js';
import { onnxBytes, recommenderA, referenceScores, tempRepository, writeVersion } from '../server/support.js';

export class ServeProcess {
  private process: SluiceProcess | undefined;

  private constructor(
    readonly models: string,
    readonly httpPort: number,
    readonly grpcPort: number,
  ) {}

  /** Starts `sluice serve` with recommender-a as model `recommender`. */
  static async start(): Promise<ServeProcess> {
    const models = await tempRepository();
    await writeVersion(models, 'recommender', 1, 'model.onnx', onnxBytes(recommenderA));
    const server = new ServeProcess(models, await freePort(), await freePort());
    await server.restart();
    return server;
  }

  get http(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  get grpc(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }

  get pid(): number {
    return this.process?.child.pid ?? 0;
  }

  /** (Re)starts the server on its ports and waits until it serves. */
  async restart(): Promise<void> {
    const serve = new SluiceProcess(['serve', '--models', this.models, '--http-port', String(this.httpPort), '--grpc-port', String(this.grpcPort), '--quiet']);
    this.process = serve;
    await serve.waitFor(/sluice serve: REST and \/metrics at/, 'stderr', 30_000);
  }

  /** SIGKILL: in-flight calls see their connections cut, new ones are refused. */
  async kill(): Promise<void> {
    const child = this.process?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: connections are accepted by the kernel, nothing is answered until `resume()`. */
  freeze(): void {
    this.process?.child.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.child.kill('SIGCONT');
  }

  /** Kills the server (a frozen one too: SIGKILL needs no SIGCONT) and removes its repository. */
  async close(): Promise<void> {
    await this.kill();
    rmSync(this.models, { recursive: true, force: true });
  }
}

/** The probabilities recommender-a gives each record, from the embedded ONNX executor: what a remote call must return. */
export async function expectedProbabilities(records: readonly RecommenderRecord[]): Promise<Map<string, number[]>> {
  const users = records.flatMap((r) => r.products.map(() => r.user));
  const products = records.flatMap((r) => r.products);
  const scores = await referenceScores(recommenderA, users, products);
  const byRecord = new Map<string, number[]>();
  let at = 0;
  for (const r of records) {
    byRecord.set(r.datatype, scores.slice(at, at + r.products.length));
    at += r.products.length;
  }
  return byRecord;
}
