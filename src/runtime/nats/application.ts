import { createApplication, type Application } from '../../blueprint/application.js';
import { SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ApplicationOptions, StartedApplication } from '../../app.js';
import { startApplication, type RunningApplication } from '../host.js';
import type { ApplicationSettings } from '../settings.js';
import { connectNats } from './connection.js';
import { ControlBucket } from './control.js';
import { natsTopicPlan } from './plan.js';
import { replicaId, startReporting, topologyOf, type Reporting } from './reporting.js';
import { NatsRuntime } from './runtime.js';

/**
 * Runs an application's streamlets (all, or the part `options.streamlets` names) in this process
 * on JetStream: connects (waiting for the broker), creates what is missing on it, records the
 * topology in the control bucket and reports this process's replicas there while it runs.
 */
export async function runOnNats(
  application: Application,
  settings: ApplicationSettings,
  log: Logger,
  options: ApplicationOptions,
): Promise<StartedApplication> {
  const names = options.streamlets ?? [...application.streamlets.keys()];
  const unknown = names.filter((name) => !application.streamlets.has(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', {
      message: `${unknown.length > 0 ? `no streamlet ${unknown.join(', ')} in ${application.file}` : 'no streamlet to run'} (streamlets: ${[...application.streamlets.keys()].join(', ')})`,
    });
  }
  const local = new Set(names);
  const everything = local.size === application.streamlets.size;
  const app = settings.nats.application;
  const nc = await connectNats(settings.nats, log, options.signal, `sluice ${app} ${names.join(',')}`);
  let running: RunningApplication;
  let runtime: NatsRuntime;
  let reporting: Reporting;
  try {
    const topics = natsTopicPlan(application, app, local);
    runtime = await NatsRuntime.start({ nc, settings: settings.nats, topics, local, log });
    const control = await ControlBucket.open(nc, app, settings.nats.stream.replicas);
    await control.putTopology(topologyOf(application, app, topics));
    const part = everything
      ? application
      : createApplication(
          application.file,
          [...application.streamlets.values()].filter((s) => local.has(s.name)),
          application.topics,
        );
    running = await startApplication({
      application: part,
      runtime,
      settings: settings.host,
      streamlets: settings.streamlets,
      log,
      metricsEnabled: settings.metricsEnabled,
    });
    reporting = startReporting({ control, streamlets: names, replica: replicaId(options.replica), url: running.url, endpoints: running.endpoints, log });
  } catch (err) {
    await nc.close();
    throw err;
  }
  let released: Promise<void> | undefined;
  const release = () =>
    (released ??= (async () => {
      await reporting.stop();
      await nc.drain().catch(() => undefined);
    })());
  const finished = running.finished.then(async (outcome) => {
    await release();
    return outcome;
  });
  // The whole application here drains like the local runtime: sources stop, topics end once read.
  // Part of it: upstream runs elsewhere, so reading stops now and the broker keeps the rest.
  const stop = async () => {
    if (!everything) runtime.endConsumption();
    const outcome = await running.stop();
    await release();
    return outcome;
  };
  return { ...running, finished, stop, application, settings, runtime };
}
