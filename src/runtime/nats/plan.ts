import type { Application } from '../../blueprint/application.js';
import { DEAD_LETTERS_TOPIC } from '../../blueprint/dead-letter.js';
import { ModelDescriptorSchema } from '../../serving/descriptor.js';
import { consumerGroup, modelTopicAddress, topicAddress, type TopicAddress } from './names.js';

export interface NatsConsumerPlan {
  readonly streamlet: string;
  readonly inlet: string;
  /** The durable consumer its replicas share; unused when `broadcast`. */
  readonly group: string;
  /** Every replica reads every record, starting from the latest (model updates). */
  readonly broadcast: boolean;
}

export interface NatsTopicPlan extends TopicAddress {
  readonly name: string;
  /** A model-update topic: kept in the models key-value bucket, read by broadcast. */
  readonly model: boolean;
  /** Sinks in this process that write to it; when all have closed, its readers here end once caught up. */
  readonly localProducers: number;
  readonly consumers: readonly NatsConsumerPlan[];
}

/**
 * How an application's topics map onto JetStream, for a process running `local` of its
 * streamlets. A topic carrying model descriptors is a *model topic*: every replica of each of its
 * readers gets every update starting from the latest one, so all replicas serve the same model
 * and a new replica learns it at once; any other topic is read by consumer groups (each record
 * to one replica of each reading streamlet).
 */
export function natsTopicPlan(application: Application, app: string, local: ReadonlySet<string>): NatsTopicPlan[] {
  return application.topics.map((topic) => {
    const model = topic.schema.type.equals(ModelDescriptorSchema.type);
    const address = model ? modelTopicAddress(app, topic.name) : topicAddress(app, topic.name);
    // The host of every process writes its own dead letters.
    const localProducers = topic.name === DEAD_LETTERS_TOPIC ? 1 : topic.producers.filter((p) => local.has(p.streamlet)).length;
    return {
      name: topic.name,
      ...address,
      model,
      localProducers,
      consumers: topic.consumers.map((c) => ({ streamlet: c.streamlet, inlet: c.inlet, group: consumerGroup(c.streamlet, c.inlet), broadcast: model })),
    };
  });
}
