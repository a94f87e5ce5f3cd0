import { hostname } from 'node:os';
import type { Application } from '../../blueprint/application.js';
import { messageOf } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { EndpointServer } from '../endpoints.js';
import { ControlBucket, REPORT_INTERVAL_MS, type Topology } from './control.js';
import type { NatsTopicPlan } from './plan.js';

export function topologyOf(application: Application, app: string, topics: readonly NatsTopicPlan[]): Topology {
  return {
    application: app,
    blueprint: application.file,
    streamlets: [...application.streamlets.values()].map((s) => ({ name: s.name, className: s.className })),
    topics: topics.map(({ name, stream, subject, model, consumers }) => ({ name, stream, subject, model, consumers })),
  };
}

/** This process's replica id: given by the supervisor, or `<host>-<pid>` (a container's host name is its pod). */
export function replicaId(given: string | undefined): string {
  return (given ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9_-]/g, '_');
}

export interface Reporting {
  stop(): Promise<void>;
}

/**
 * Reports the streamlets of this process to the control bucket every few seconds (what
 * `sluice status` lists: replica, endpoints, serving model), and removes the reports on stop.
 */
export function startReporting(options: {
  readonly control: ControlBucket;
  readonly streamlets: readonly string[];
  readonly replica: string;
  readonly url: string;
  readonly endpoints: EndpointServer;
  readonly log: Logger;
}): Reporting {
  const { control, streamlets, replica, url, endpoints, log } = options;
  const startedAt = Date.now();
  let failing = false;
  const report = async () => {
    try {
      for (const streamlet of streamlets) {
        const state = endpoints.view(`/${streamlet}/state`)?.();
        await control.report({
          streamlet,
          replica,
          pid: process.pid,
          host: hostname(),
          url,
          startedAt,
          at: Date.now(),
          ...(state === undefined ? {} : { state }),
        });
      }
      if (failing) log.info('replica reports reach the control bucket again', { bucket: control.bucket });
      failing = false;
    } catch (err) {
      if (!failing)
        log.warn('cannot report this replica to the control bucket; status will miss it until it can', { bucket: control.bucket, error: messageOf(err) });
      failing = true;
    }
  };
  void report();
  const timer = setInterval(() => void report(), REPORT_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(streamlets.map((s) => control.forget(s, replica).catch(() => undefined)));
    },
  };
}
