/**
 * How an application's topics and state are named on the broker. Every name starts with the
 * application's name, so several applications (and parallel tests) share one NATS server
 * without meeting. Streamlet, inlet and topic names are DNS-1123 labels already (the blueprint
 * checks that); only the application name needs sanitizing.
 */

/** The application name as the broker takes it: anything outside `[A-Za-z0-9_-]` becomes `_`. */
export function brokerName(application: string): string {
  const name = application.replace(/[^A-Za-z0-9_-]/g, '_');
  if (name === '') throw new Error('the application name on the broker is empty');
  return name;
}

/** Where a topic lives: the JetStream stream and the one subject its records are published on. */
export interface TopicAddress {
  readonly stream: string;
  readonly subject: string;
}

/** An ordinary topic: one stream of its own. */
export function topicAddress(app: string, topic: string): TopicAddress {
  return { stream: `sluice_${app}_${topic}`, subject: `sluice.${app}.${topic}` };
}

/** The key-value bucket holding the model-update topics, one key per topic. */
export const modelBucket = (app: string): string => `sluice_${app}_models`;

/** A model-update topic: a key of the models bucket (a KV bucket is a stream too). */
export function modelTopicAddress(app: string, topic: string): TopicAddress {
  const bucket = modelBucket(app);
  return { stream: `KV_${bucket}`, subject: `$KV.${bucket}.${topic}` };
}

/** The object store holding payloads too large for a message (model blobs). */
export const blobBucket = (app: string): string => `sluice_${app}_blobs`;

/** The key-value bucket of the application's control state: topology, replica counts, replicas alive. */
export const controlBucket = (app: string): string => `sluice_${app}`;

/** The durable consumer shared by the replicas of one inlet: the consumer group. */
export const consumerGroup = (streamlet: string, inlet: string): string => `${streamlet}-${inlet}`;
