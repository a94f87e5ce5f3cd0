/**
 * HTTP request/response through a pipeline: the serving ingress takes a POSTed record, emits
 * it, and holds the HTTP response open; the serving egress, fed with the pipeline's results,
 * answers each waiting request with the result that carries its id. Both run in one process
 * (the local runtime), joined by the table of waiting requests their factory call shares.
 */
import { config } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import { defineStreamlet, outlet } from '../../core/streamlet.js';
import { toJson } from '../json.js';
import { rejectionReporter } from '../rejections.js';
import { httpListenerConfig, serveRecords } from './listener.js';
import { Exchanges } from './pending-results.js';

export interface Correlation<Request, Result> {
  /** The id of a request record, unique among the requests waiting (e.g. a transaction id). */
  readonly requestId: (record: Request) => string;
  /** The id of the request a result answers: the same key, carried through the pipeline. */
  readonly resultId: (result: Result) => string;
}

export interface HttpServingOptions<Request, Result> {
  readonly request: Schema<Request>;
  readonly response: Schema<Result>;
  readonly correlate: Correlation<Request, Result>;
  /** Partition key of the request records emitted. */
  readonly key?: (record: Request) => string;
}

const exchange = config.string({
  description: 'Name joining a serving ingress to its serving egress (same name on both; they run in one process)',
  default: 'default',
  pattern: /^[\w.-]+$/,
});

export function httpServing<Request, Result>(options: HttpServingOptions<Request, Result>) {
  const exchanges = new Exchanges<Result>();
  const { requestId, resultId } = options.correlate;

  const ingress = defineStreamlet({
    description: `Receives ${options.request.name} records over HTTP and answers each request with its ${options.response.name}`,
    outlets: { out: outlet(options.request, options.key) },
    config: {
      ...httpListenerConfig,
      exchange,
      'response-timeout': config.duration({ description: 'How long a request waits for its result before it gets 504', default: 10_000, min: 1 }),
    },
    async run(ctx) {
      const pending = exchanges.get(ctx.config.exchange);
      const timeoutMs = ctx.config['response-timeout'];
      const rejections = rejectionReporter(ctx);
      await serveRecords(ctx, options.request, rejections, async ({ records, batch }, scope) => {
        const where = `${ctx.name} POST ${ctx.config.path}`;
        const ids = records.map(requestId);
        const results = pending.expect(ids, where);
        // Settled below in every case; a result that comes after the request gave up is dropped.
        for (const result of results) result.catch(() => undefined);
        const timer = setTimeout(() => {
          pending.cancel(ids, new SluiceError('SLUICE_ERR_RESPONSE_TIMEOUT', { where, id: ids[0] ?? '', timeout: timeoutMs }));
        }, timeoutMs);
        try {
          await scope.accepted(ctx.emitAll('out', records));
          const answers = (await Promise.all(results)).map(toJson);
          return { status: 200, body: batch ? answers : answers[0] };
        } catch (err) {
          pending.cancel(ids, err as Error);
          throw err;
        } finally {
          clearTimeout(timer);
        }
      });
    },
  });

  const egress = defineStreamlet({
    description: `Answers the HTTP requests waiting at the serving ingress with their ${options.response.name}`,
    inlets: { in: options.response },
    config: { exchange },
    async run(ctx) {
      const pending = exchanges.get(ctx.config.exchange);
      const unmatched = ctx.metrics.counter('sluice_connector_unmatched_total', 'Results no request was waiting for (it timed out or got its answer already)');
      try {
        for await (const results of ctx.inlet('in').batches()) {
          for (const result of results) {
            if (!pending.complete(resultId(result), result)) unmatched.inc();
          }
        }
      } finally {
        // No more results will come: the requests still waiting are told now, not at their timeout.
        pending.cancelAll(new SluiceError('SLUICE_ERR_SHUTDOWN', { message: `${ctx.name} stopped answering requests` }));
      }
    },
  });

  return { ingress, egress };
}
