/**
 * Runs one streamlet in-process for tests: feed records to its inlets, read what each outlet
 * emitted, and see what was dead-lettered and committed. It uses the real host and the local
 * runtime, so what passes here is what runs in an application.
 */
import { createApplication, type ApplicationTopic } from './blueprint/application.js';
import { DEAD_LETTERS_TOPIC, DeadLetter, type DeadLetterRecord } from './blueprint/dead-letter.js';
import { parseConfigValues } from './core/config.js';
import { createLogger, type Logger } from './core/log.js';
import type { Schema } from './core/schema.js';
import type { AnyStreamlet } from './core/streamlet.js';
import { startApplication, type Outcome, type RunningApplication } from './runtime/host.js';
import { groupName, LocalRuntime } from './runtime/local/runtime.js';
import type { RuntimeSink } from './runtime/runtime.js';

export interface HarnessOptions {
  readonly name?: string;
  readonly config?: Readonly<Record<string, unknown>>;
  /** Directory per volume mount; required for each mount the streamlet declares. */
  readonly volumes?: Readonly<Record<string, string>>;
  readonly topicCapacity?: number;
  readonly log?: Logger;
}

export interface StreamletHarness {
  /** HTTP base URL of the streamlet's endpoints (e.g. `/state`). */
  readonly url: string;
  readonly app: RunningApplication;
  /** Encodes values with the inlet's schema and appends them; waits while the topic is full. */
  send(inlet: string, values: readonly unknown[]): Promise<void>;
  /** Appends raw bytes, e.g. to check that undecodable records are dead-lettered. */
  sendRaw(inlet: string, payloads: readonly Buffer[]): Promise<void>;
  /** No more input on this inlet: the streamlet's iteration of it ends once it has read everything. */
  endInput(inlet: string): Promise<void>;
  /** Everything the outlet emitted so far, decoded, in order. */
  outputs(outlet: string): readonly unknown[];
  readonly deadLetters: readonly DeadLetterRecord[];
  /** How many records of the inlet the streamlet has committed. */
  committed(inlet: string): number;
  /** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<Outcome>;
}

const TESTKIT = 'testkit';
const inletTopic = (inlet: string) => `inlet-${inlet}`;
const outletTopic = (outlet: string) => `outlet-${outlet}`;

export async function startStreamlet(definition: AnyStreamlet, options: HarnessOptions = {}): Promise<StreamletHarness> {
  const name = options.name ?? 'streamlet';
  const log = options.log ?? createLogger({ level: 'silent' });
  const { values: config, problems } = parseConfigValues(definition.config, options.config ?? {});
  if (problems.length > 0) throw new Error(`config of ${name}: ${problems.map((p) => `${p.key} ${p.message}`).join('; ')}`);
  const volumes: Record<string, string> = {};
  for (const mount of Object.keys(definition.volumeMounts)) {
    const path = options.volumes?.[mount];
    if (!path) throw new Error(`streamlet ${name} needs a directory for volume mount ${mount}`);
    volumes[mount] = path;
  }

  const topics: ApplicationTopic[] = [
    ...Object.entries(definition.inlets).map(([inlet, schema]) => ({
      name: inletTopic(inlet),
      schema: schema as Schema,
      producers: [],
      consumers: [{ streamlet: name, inlet }],
    })),
    ...Object.entries(definition.outlets).map(([outlet, spec]) => ({
      name: outletTopic(outlet),
      schema: spec.schema as Schema,
      producers: [{ streamlet: name, outlet }],
      consumers: [],
    })),
    { name: DEAD_LETTERS_TOPIC, schema: DeadLetter as Schema, producers: [], consumers: [] },
  ];
  const application = createApplication(`${name}.testkit`, [{ name, className: TESTKIT, definition }], topics);
  const runtime = new LocalRuntime({
    capacity: options.topicCapacity ?? 1024,
    topics: topics.map((t) => ({
      name: t.name,
      groups: t.name.startsWith('inlet-') ? t.consumers.map((c) => groupName({ topic: t.name, ...c })) : [`${TESTKIT}.${t.name}`],
      producers: 1,
    })),
  });
  const feeders = new Map<string, RuntimeSink>(
    Object.keys(definition.inlets).map((inlet) => [inlet, runtime.sink({ topics: [inletTopic(inlet)], streamlet: TESTKIT, outlet: inlet })]),
  );

  const app = await startApplication({
    application,
    runtime,
    log,
    settings: {
      http: { host: '127.0.0.1', port: 0 },
      drainTimeout: 5_000,
      restart: { maxRestarts: 0, backoffMin: 10, backoffMax: 10 },
      batch: { maxSize: 512, maxWait: 0 },
    },
    streamlets: new Map([[name, { config, volumes }]]),
  });

  const collected = new Map<string, unknown[]>();
  const deadLetters: DeadLetterRecord[] = [];
  const collect = async (topic: string, decode: (bytes: Buffer) => unknown, into: unknown[]) => {
    const source = runtime.source({ topic, streamlet: TESTKIT, inlet: topic });
    for (let batch = await source.pull({ maxSize: 4096, maxWait: 0 }); batch; batch = await source.pull({ maxSize: 4096, maxWait: 0 })) {
      for (const record of batch.records) into.push(decode(record.payload));
      await batch.commit();
    }
  };
  const collectors = [
    ...Object.entries(definition.outlets).map(([outlet, spec]) => {
      const into: unknown[] = [];
      collected.set(outlet, into);
      return collect(outletTopic(outlet), (bytes) => (spec.schema as Schema).decode(bytes, outlet), into);
    }),
    collect(DEAD_LETTERS_TOPIC, (bytes) => DeadLetter.decode(bytes, DEAD_LETTERS_TOPIC), deadLetters as unknown[]),
  ];

  const feeder = (inlet: string) => {
    const sink = feeders.get(inlet);
    if (!sink) throw new Error(`streamlet ${name} has no inlet ${inlet} (inlets: ${[...feeders.keys()].join(', ')})`);
    return sink;
  };
  return {
    url: app.url,
    app,
    send: (inlet, values) => {
      const schema = definition.inlets[inlet] as Schema | undefined;
      if (!schema) throw new Error(`streamlet ${name} has no inlet ${inlet}`);
      return feeder(inlet).write(values.map((v) => ({ payload: schema.encode(v, inlet) })));
    },
    sendRaw: (inlet, payloads) => feeder(inlet).write(payloads.map((payload) => ({ payload }))),
    endInput: (inlet) => feeder(inlet).close(),
    outputs: (outlet) => collected.get(outlet) ?? [],
    deadLetters,
    committed: (inlet) => runtime.topic(inletTopic(inlet)).committed(`${name}.${inlet}`),
    async until(condition, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async stop() {
      await Promise.all([...feeders.values()].map((sink) => sink.close()));
      const outcome = await app.stop();
      await Promise.all(collectors);
      return outcome;
    },
  };
}
