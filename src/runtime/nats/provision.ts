import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import { messageOf, SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { NatsConsumerPlan, NatsTopicPlan } from './plan.js';
import type { NatsSettings } from './settings.js';

/** Versions a model topic keeps per key, so a consumer group reading it does not miss quick successive updates. */
const MODEL_HISTORY = 16;

export interface Provisioner {
  /** Creates the topic's stream if it is missing; `lost` says it existed before (it was deleted under the application). */
  topic(topic: NatsTopicPlan, lost?: boolean): Promise<void>;
  /** Creates (or updates) the durable consumer of a consumer group. */
  group(topic: NatsTopicPlan, consumer: NatsConsumerPlan): Promise<void>;
}

/**
 * Creates what an application needs on the broker, idempotently: one file-backed stream per
 * topic (model topics: one KV bucket for all), one durable consumer per inlet. Settings that
 * changed since the last run (retention, pending acks) are applied to the existing ones.
 */
export function provisioner(nc: Parameters<typeof kvmOf>[0], jsm: JetStreamManager, settings: NatsSettings, log: Logger): Provisioner {
  const kvm = kvmOf(nc);
  return {
    async topic(topic, lost = false) {
      try {
        if (topic.model) {
          const missing = !(await streamExists(jsm, topic.stream));
          await kvm.create(topic.stream.slice('KV_'.length), {
            history: MODEL_HISTORY,
            storage: StorageType.File,
            replicas: settings.stream.replicas,
          });
          if (missing && lost)
            log.error('model topic bucket was missing and is created anew: the models it held are lost', { topic: topic.name, stream: topic.stream });
          return;
        }
        const wanted = {
          name: topic.stream,
          subjects: [topic.subject],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          max_age: nanos(settings.stream.maxAge),
          max_bytes: settings.stream.maxBytes === 0 ? -1 : settings.stream.maxBytes,
          num_replicas: settings.stream.replicas,
          duplicate_window: nanos(settings.stream.duplicateWindow),
        } satisfies Partial<StreamConfig>;
        const info = await jsm.streams.info(topic.stream).catch((err: unknown) => {
          if (isNotFound(err, JetStreamApiCodes.StreamNotFound)) return undefined;
          throw err;
        });
        if (!info) {
          await jsm.streams.add(wanted);
          if (lost) log.error('stream was missing and is created anew: the records it held are lost', { topic: topic.name, stream: topic.stream });
          else log.debug('stream created', { topic: topic.name, stream: topic.stream });
          return;
        }
        const c = info.config;
        if (
          c.max_age !== wanted.max_age ||
          c.max_bytes !== wanted.max_bytes ||
          c.duplicate_window !== wanted.duplicate_window ||
          c.num_replicas !== wanted.num_replicas
        ) {
          await jsm.streams.update(topic.stream, { ...c, ...wanted });
          log.info('stream settings updated', { topic: topic.name, stream: topic.stream });
        }
      } catch (err) {
        throw new SluiceError(
          'SLUICE_ERR_NATS_STREAM',
          { what: 'stream', name: topic.stream, message: `for topic ${topic.name}: ${messageOf(err)}` },
          { cause: err },
        );
      }
    },
    async group(topic, consumer) {
      const wanted = {
        durable_name: consumer.group,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(settings.consumer.ackWait),
        max_ack_pending: settings.consumer.maxAckPending,
        deliver_policy: DeliverPolicy.All,
        filter_subject: topic.subject,
        max_deliver: -1,
      };
      try {
        const info = await jsm.consumers.info(topic.stream, consumer.group).catch((err: unknown) => {
          if (isNotFound(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
          throw err;
        });
        if (!info) await jsm.consumers.add(topic.stream, wanted);
        else if (info.config.ack_wait !== wanted.ack_wait || info.config.max_ack_pending !== wanted.max_ack_pending) {
          await jsm.consumers.update(topic.stream, consumer.group, { ack_wait: wanted.ack_wait, max_ack_pending: wanted.max_ack_pending });
        }
      } catch (err) {
        throw new SluiceError(
          'SLUICE_ERR_NATS_STREAM',
          { what: 'consumer', name: `${topic.stream}/${consumer.group}`, message: `for ${consumer.streamlet}.${consumer.inlet}: ${messageOf(err)}` },
          { cause: err },
        );
      }
    },
  };
}

function kvmOf(nc: ConstructorParameters<typeof Kvm>[0]): Kvm {
  return new Kvm(nc);
}

export function isNotFound(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

async function streamExists(jsm: JetStreamManager, stream: string): Promise<boolean> {
  return jsm.streams.info(stream).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err, JetStreamApiCodes.StreamNotFound)) return false;
      throw err;
    },
  );
}
