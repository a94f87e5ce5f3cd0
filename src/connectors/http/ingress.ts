/**
 * HTTP ingress: clients POST records (one, or a batch) and get `202` once the runtime has
 * accepted all of them; any other answer means none was taken, so the client retries it.
 */
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { rejectionReporter } from '../rejections.js';
import { httpListenerConfig, serveRecords } from './listener.js';

export interface HttpIngressOptions<T> {
  readonly schema: Schema<T>;
  /** Partition key of the records emitted. */
  readonly key?: (record: T) => string;
  readonly description?: string;
}

export function httpIngress<T>(options: HttpIngressOptions<T>) {
  return defineStreamlet({
    description: options.description ?? `Receives ${options.schema.name} records POSTed over HTTP (JSON, JSON lines, Avro)`,
    outlets: { out: outlet(options.schema, options.key) },
    config: httpListenerConfig,
    async run(ctx) {
      const rejections = rejectionReporter(ctx);
      await serveRecords(ctx, options.schema, rejections, async ({ records }, scope) => {
        await scope.accepted(ctx.emitAll('out', records));
        return { status: 202, body: { accepted: records.length } };
      });
    },
  });
}
