import { JetStreamApiCodes, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { messageOf } from '../../core/errors.js';
import { ModelDescriptorSchema } from '../../serving/descriptor.js';
import { ControlBucket, type ReplicaReport, type Topology } from './control.js';
import { isNotFound } from './provision.js';
import { BLOB_HEADER } from './publisher.js';

export interface InletStatus {
  readonly streamlet: string;
  readonly inlet: string;
  readonly topic: string;
  readonly stream: string;
  /** Model updates: every replica reads all, so there is no group and no lag. */
  readonly broadcast: boolean;
  /** Records not yet delivered to the group, and delivered but not committed; absent when the consumer is missing. */
  readonly pending?: number;
  readonly unacknowledged?: number;
  readonly problem?: string;
}

export interface ModelTopicStatus {
  readonly topic: string;
  /** The latest model published on it. */
  readonly model?: { readonly modelName: string; readonly modelType: string; readonly bytes: number | 'object store'; readonly published: string };
}

export interface StreamletStatus {
  readonly name: string;
  readonly className: string;
  /** Replicas wanted (`sluice scale`), when a supervisor runs the application. */
  readonly wanted?: number;
  readonly replicas: readonly ReplicaReport[];
}

export interface ApplicationStatus {
  readonly application: string;
  readonly blueprint: string;
  readonly streamlets: readonly StreamletStatus[];
  readonly inlets: readonly InletStatus[];
  readonly models: readonly ModelTopicStatus[];
}

/** What `sluice status` shows: the application's streamlets and their live replicas, the lag of every consumer group, the models published. */
export async function applicationStatus(nc: NatsConnection, app: string): Promise<ApplicationStatus> {
  const { control, topology } = await ControlBucket.existing(nc, app);
  const jsm = await jetstreamManager(nc);
  const reports = await control.replicas();
  const streamlets: StreamletStatus[] = [];
  for (const s of topology.streamlets) {
    const wanted = await control.scale(s.name);
    streamlets.push({
      name: s.name,
      className: s.className,
      ...(wanted === undefined ? {} : { wanted }),
      replicas: reports.filter((r) => r.streamlet === s.name),
    });
  }
  const inlets: InletStatus[] = [];
  const models: ModelTopicStatus[] = [];
  for (const topic of topology.topics) {
    if (topic.model) models.push(await latestModel(jsm, topic));
    for (const c of topic.consumers) {
      const base = { streamlet: c.streamlet, inlet: c.inlet, topic: topic.name, stream: topic.stream, broadcast: c.broadcast };
      if (c.broadcast) {
        inlets.push(base);
        continue;
      }
      try {
        const info = await jsm.consumers.info(topic.stream, c.group);
        inlets.push({ ...base, pending: info.num_pending, unacknowledged: info.num_ack_pending });
      } catch (err) {
        const missing = isNotFound(err, JetStreamApiCodes.ConsumerNotFound) || isNotFound(err, JetStreamApiCodes.StreamNotFound);
        inlets.push({ ...base, problem: missing ? `consumer ${c.group} not found on stream ${topic.stream}` : messageOf(err) });
      }
    }
  }
  return { application: topology.application, blueprint: topology.blueprint, streamlets, inlets, models };
}

async function latestModel(jsm: Awaited<ReturnType<typeof jetstreamManager>>, topic: Topology['topics'][number]): Promise<ModelTopicStatus> {
  const last = await jsm.streams.getMessage(topic.stream, { last_by_subj: topic.subject }).catch(() => null);
  if (!last) return { topic: topic.name };
  const blob = last.data.length === 0 ? last.header?.get(BLOB_HEADER) : undefined;
  try {
    const descriptor = blob ? undefined : ModelDescriptorSchema.decode(Buffer.from(last.data), topic.name);
    return {
      topic: topic.name,
      model: {
        modelName: descriptor?.modelName ?? '(in the object store)',
        modelType: descriptor?.modelType ?? '',
        bytes: blob ? 'object store' : (descriptor?.modelBytes?.length ?? 0),
        published: last.time.toISOString(),
      },
    };
  } catch {
    return { topic: topic.name };
  }
}
