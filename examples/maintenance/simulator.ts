/**
 * The sensor simulator of the predictive-maintenance example: publishes the readings of a
 * simulated fleet (fleet.ts) as JSON to MQTT topics `factory/<line>/<machine>/telemetry` at
 * QoS 1, each publish awaited until the broker acknowledged it. Some machines develop a fault:
 * their vibration and temperature drift up until they fail.
 *
 *   node dist/examples/maintenance/simulator.js --machines 20 --rate 200 --mqtt mqtt://127.0.0.1:1883
 *
 * It stops after `--count` readings or `--duration`, or on Ctrl-C, and prints a summary (JSON)
 * on stdout: readings published per machine and which machines degrade from which reading.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { parseArgs, UsageError } from '../../src/cli/args.js';
import { config } from '../../src/core/config.js';
import { paced } from '../../src/util/pacing.js';
import { MachineFleet, type FleetOptions, type MachinePlan } from './fleet.js';

export interface SimulatorOptions extends FleetOptions {
  /** Broker URL; default mqtt://127.0.0.1:1883. */
  readonly mqtt?: string;
  /** Readings per second over the whole fleet; 0 = as fast as the broker acknowledges. Default 200. */
  readonly rate?: number;
  /** First level of the topics; default `factory`. */
  readonly topicRoot?: string;
  /** Stop after this many readings; default: never. */
  readonly count?: number;
  readonly signal?: AbortSignal;
}

export interface SimulatorSummary {
  readonly published: number;
  /** Readings published per machine. */
  readonly perMachine: Readonly<Record<string, number>>;
  readonly machines: readonly MachinePlan[];
}

/** The topic a reading is published to. */
export function telemetryTopic(line: string, machine: string, root = 'factory'): string {
  return `${root}/${line}/${machine}/telemetry`;
}

/** Publishes the fleet's readings until `count` or the signal; resolves once every publish was acknowledged. */
export async function simulate(options: SimulatorOptions = {}): Promise<SimulatorSummary> {
  const url = options.mqtt ?? 'mqtt://127.0.0.1:1883';
  const root = options.topicRoot ?? 'factory';
  if (root === '' || /[+#/]/.test(root)) throw new RangeError(`topic root must be one topic level without wildcards, got ${JSON.stringify(root)}`);
  const rate = options.rate ?? 200;
  if (!(rate >= 0)) throw new RangeError(`rate must be 0 or more readings per second, got ${rate}`);
  const machines = options.machines ?? 20;
  const fleet = new MachineFleet({
    ...options,
    start: options.start ?? Date.now(),
    intervalMs: options.intervalMs ?? (rate > 0 ? (1000 * machines) / rate : 1),
  });
  let client: MqttClient;
  try {
    client = await connectAsync(url, { clean: true, reconnectPeriod: 0, connectTimeout: 10_000 });
  } catch (err) {
    throw new Error(`cannot connect to MQTT broker ${url}: ${(err as Error).message}`, { cause: err });
  }
  const perMachine: Record<string, number> = Object.fromEntries(fleet.plans.map((p) => [p.machine, 0]));
  const signal = options.signal ?? new AbortController().signal;
  let published = 0;
  try {
    await paced({ rate, limit: options.count ?? Number.POSITIVE_INFINITY, signal, burst: 256 }, async (count) => {
      const readings = Array.from({ length: count }, () => fleet.reading());
      await Promise.all(readings.map((r) => client.publishAsync(telemetryTopic(r.line, r.machine, root), JSON.stringify(r), { qos: 1 })));
      for (const r of readings) perMachine[r.machine] = (perMachine[r.machine] ?? 0) + 1;
      published += count;
    });
  } finally {
    await client.endAsync();
  }
  return { published, perMachine, machines: fleet.plans };
}

const usage = `usage: simulator [--machines 20] [--rate 200] [--mqtt mqtt://127.0.0.1:1883] [--topic-root factory] [--lines 4] [--seed 7]
                 [--degrading <machines>] [--onset 300] [--ramp 600] [--count <readings>] [--duration <e.g. 30s>]`;

const durationParameter = config.duration({ description: 'How long the simulator publishes', min: 1 });

const flags = Object.fromEntries(
  ['--machines', '--rate', '--mqtt', '--topic-root', '--lines', '--seed', '--degrading', '--onset', '--ramp', '--count', '--duration'].map((f) => [
    f,
    { takesValue: true },
  ]),
);

/** Parses the command line into options; throws a UsageError naming the bad option. */
export function simulatorOptions(argv: readonly string[]): SimulatorOptions & { readonly durationMs?: number } {
  const parsed = parseArgs(argv, { ...flags, '--help': { takesValue: false } });
  if (parsed.flags.has('--help')) throw new UsageError(usage);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}\n${usage}`);
  const value = (flag: string) => parsed.flags.get(flag)?.[0];
  const number = (flag: string, integer: boolean) => {
    const raw = value(flag);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isSafeInteger(n))) {
      throw new UsageError(`${flag} must be a ${integer ? 'whole ' : ''}number of 0 or more, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
  const duration = value('--duration');
  let durationMs: number | undefined;
  if (duration !== undefined) {
    try {
      durationMs = durationParameter.parse(duration);
    } catch (err) {
      throw new UsageError(`--duration: ${(err as Error).message}`);
    }
  }
  const mqtt = value('--mqtt');
  const topicRoot = value('--topic-root');
  const options = {
    machines: number('--machines', true),
    rate: number('--rate', false),
    lines: number('--lines', true),
    seed: number('--seed', true),
    degrading: number('--degrading', true),
    onset: number('--onset', true),
    ramp: number('--ramp', true),
    count: number('--count', true),
    mqtt,
    topicRoot,
    durationMs,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

async function main(argv: readonly string[]): Promise<number> {
  let options: ReturnType<typeof simulatorOptions>;
  try {
    options = simulatorOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return argv.includes('--help') ? 0 : 2;
  }
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  const timer = options.durationMs === undefined ? undefined : setTimeout(() => stop.abort(), options.durationMs);
  try {
    const summary = await simulate({ ...options, signal: stop.signal });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`simulator: ${(err as Error).message}\n`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

// CLI: only when this file is the entry point, never on import.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
