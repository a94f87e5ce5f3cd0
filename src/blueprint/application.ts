/**
 * A validated application: every streamlet resolved to its definition, every topic with the one
 * schema it carries and its typed producer outlets and consumer inlets. Runtimes and deployment
 * read this, never the raw blueprint; it exists only when the blueprint has no problems.
 */
import type { Schema } from '../core/schema.js';
import type { AnyStreamlet } from '../core/streamlet.js';

export interface ApplicationStreamlet {
  readonly name: string;
  readonly className: string;
  readonly definition: AnyStreamlet;
}

export interface TopicProducer {
  readonly streamlet: string;
  readonly outlet: string;
}

export interface TopicConsumer {
  readonly streamlet: string;
  readonly inlet: string;
}

export interface ApplicationTopic {
  readonly name: string;
  /** The writer schema: the producers' outlet schema (all producers write the same), DeadLetter for dead-letters. */
  readonly schema: Schema;
  readonly producers: readonly TopicProducer[];
  readonly consumers: readonly TopicConsumer[];
}

export interface Application {
  /** The blueprint file it was read from. */
  readonly file: string;
  readonly streamlets: ReadonlyMap<string, ApplicationStreamlet>;
  readonly topics: readonly ApplicationTopic[];
}

export function createApplication(file: string, streamlets: readonly ApplicationStreamlet[], topics: readonly ApplicationTopic[]): Application {
  return Object.freeze({
    file,
    streamlets: readonlyMap(streamlets.map((streamlet) => [streamlet.name, Object.freeze({ ...streamlet })] as const)),
    topics: Object.freeze(
      topics.map((topic) =>
        Object.freeze({
          name: topic.name,
          schema: topic.schema,
          producers: Object.freeze(topic.producers.map((producer) => Object.freeze({ ...producer }))),
          consumers: Object.freeze(topic.consumers.map((consumer) => Object.freeze({ ...consumer }))),
        }),
      ),
    ),
  });
}

/** A map that cannot be changed: `Object.freeze` on a Map would still allow `set`. */
function readonlyMap<K, V>(entries: Iterable<readonly [K, V]>): ReadonlyMap<K, V> {
  const map = new Map(entries);
  const view: ReadonlyMap<K, V> = Object.freeze({
    get size() {
      return map.size;
    },
    get: (key: K) => map.get(key),
    has: (key: K) => map.has(key),
    keys: () => map.keys(),
    values: () => map.values(),
    entries: () => map.entries(),
    forEach: (callback: (value: V, key: K, self: ReadonlyMap<K, V>) => void, thisArg?: unknown) => {
      map.forEach((value, key) => callback.call(thisArg, value, key, view));
    },
    [Symbol.iterator]: () => map[Symbol.iterator](),
  });
  return view;
}
