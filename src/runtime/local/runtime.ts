import type { InletBinding, OutletBinding, Runtime, RuntimeSink, RuntimeSource } from '../runtime.js';
import { FairShare } from '../../util/fair-share.js';
import { LocalTopic } from './topic.js';

export interface LocalTopicPlan {
  readonly name: string;
  /** Consumer group names: `<streamlet>.<inlet>` of every consumer. */
  readonly groups: readonly string[];
  /** How many sinks will write to it; the topic ends when all have closed. */
  readonly producers: number;
}

export interface LocalRuntimeOptions {
  readonly topics: readonly LocalTopicPlan[];
  /** Records a topic holds before producers wait. */
  readonly capacity: number;
}

export const groupName = (binding: InletBinding): string => `${binding.streamlet}.${binding.inlet}`;

/** The default runtime: every topic an in-memory bounded log, everything in one process. */
export class LocalRuntime implements Runtime {
  readonly name = 'local';
  private readonly topics = new Map<string, LocalTopic>();

  constructor(options: LocalRuntimeOptions) {
    const fairShare = new FairShare();
    for (const plan of options.topics) {
      this.topics.set(plan.name, new LocalTopic(plan.name, options.capacity, plan.groups, plan.producers, fairShare));
    }
  }

  backlog(): Record<string, number> {
    return Object.fromEntries([...this.topics].map(([name, topic]) => [name, topic.depth]));
  }

  source(binding: InletBinding): RuntimeSource {
    const topic = this.topic(binding.topic);
    const group = groupName(binding);
    const closing = new AbortController();
    // Callers pass the same signal on every pull; combining it once matters, since every
    // AbortSignal.any() stays registered on its sources (nodejs/node#55351).
    let given: AbortSignal | undefined;
    let combined = closing.signal;
    return {
      pull: (options) => {
        if (options.signal !== given) {
          given = options.signal;
          combined = given ? AbortSignal.any([given, closing.signal]) : closing.signal;
        }
        return topic.pull(group, { ...options, signal: combined });
      },
      close: async () => {
        closing.abort();
        topic.rewind(group);
      },
    };
  }

  sink(binding: OutletBinding): RuntimeSink {
    const topics = binding.topics.map((name) => this.topic(name));
    let closed = false;
    return {
      write: async (records, signal) => {
        if (closed) throw new Error(`outlet ${binding.streamlet}.${binding.outlet} was closed`);
        for (const topic of topics) await topic.append(records, signal);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        for (const topic of topics) topic.closeProducer();
      },
    };
  }

  async close(): Promise<void> {
    this.topics.clear();
  }

  /** A topic, for inspection and for feeding it from outside the application (the testkit). */
  topic(name: string): LocalTopic {
    const topic = this.topics.get(name);
    if (!topic) throw new Error(`local runtime has no topic ${name}`);
    return topic;
  }
}
