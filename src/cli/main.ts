/**
 * The `sluice` command. Thin on purpose: it parses arguments, then lazily imports the command,
 * which calls the same public API library users get.
 *
 * Exit codes: 0 success, 1 the application failed or the blueprint/config is invalid,
 * 2 a usage error (unknown option, missing file).
 */
import { packageVersion } from '../util/package-root.js';
import { UsageError } from './args.js';

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly load: () => Promise<(argv: readonly string[], io: CommandIo) => Promise<number>>;
}

const commands: Readonly<Record<string, Command>> = {
  run: {
    summary: 'Run an application from its blueprint',
    usage: `sluice run <blueprint> [--conf <file>]... [key=value]... [--runtime local|nats [--nats-url <url>] [--streamlet <name> | --in-process]]
           [--quiet | --verbose] [--log-format json|pretty]

Runs the application until SIGINT or SIGTERM, which drain in-flight work and persist state
before exiting. On the local runtime (the default) every streamlet runs in this process; with
--runtime nats the topics are JetStream streams and a supervisor runs one process per streamlet
replica (sluice.nats.replicas.<streamlet>). See docs/nats-runtime.md.

  --conf <file>        HOCON config layered over the declared defaults; repeat it, later wins
  key=value            an override that wins over every file, e.g.
                         sluice.http.port=8080
                         data-ingress.records-per-second=200   (a streamlet's config, shorthand)
  --runtime <r>        local (default) or nats
  --nats-url <url>     the JetStream server (sluice.nats.url; default nats://127.0.0.1:4222)
  --streamlet <name>   run one replica of one streamlet in this process (what a container runs)
  --in-process         run every streamlet in this process, on JetStream
  --quiet              log warnings and errors only
  --verbose            log debug messages too
  --log-format <f>     pretty (default on a terminal) or json (one object per line, on stderr)`,
    load: async () => (await import('./run.js')).runCommand,
  },
  verify: {
    summary: 'Check a blueprint and print every problem',
    usage: `sluice verify <blueprint> [--conf <file>]... [key=value]...

Validates the blueprint (names, classes, ports, connections, schema compatibility) and, with
--conf files or overrides, the configuration too. Prints every problem with its file and line;
exits 1 if there is any.`,
    load: async () => (await import('./verify.js')).verifyCommand,
  },
  bench: {
    summary: 'Measure Sluice against its limits (the benchmark harness)',
    usage: `sluice bench [--quick] [--only=<name>,...] [--rounds=N] [--json=<file> | --no-json] [--publish | --no-publish]

Runs the benchmark harness of a source checkout (bench/run.ts, as npm run bench does): for each
workload and executor, the raw model call, the pipeline at batch sizes 1 to 512, the sustainable
input rate found by stepping, and latency at 25-90% of it; then the JetStream, external-serving
and connector benchmarks present. Prints ratio tables, writes bench/results/, renders plots.
A full run takes about 15 minutes. docs/benchmarks.md explains every figure.

  --quick              short steps, one round, no suites unless named: under two minutes
  --only=<name>,...    configurations (recommender-onnx, ffnn-onnx, ...), workloads (recommender,
                       fraud, ffnn), executors (onnx, tfjs, pmml), stages (raw, sweep, stepping,
                       latency) or suites (nats, external, connectors)
  --rounds=N           rounds of the raw and batch-size measurements (default 3; quick 1)
  --json=<file>        where the JSON results go (default bench/results/latest.json)
  --publish            also write the plots and results into docs/ (default for a full run)`,
    load: async () => (await import('./bench.js')).benchCommand,
  },
  serve: {
    summary: 'Serve a model repository over Open Inference, TF Serving and Seldon protocols',
    usage: `sluice serve --models <dir> [options]

Serves every model of the repository <dir> (one folder per model, numbered version folders
holding model.onnx, model.pmml, model.tfjs or model.json, or graph.conf for an inference graph
of the other models) over Open Inference REST and gRPC, TF Serving REST and gRPC, and Seldon
REST, until SIGINT or SIGTERM, which answer in-flight requests and unload the models. New
version folders are picked up while it runs. See docs/serve.md.

  --models <dir>            the model repository (required)
  --host <addr>             address both ports listen on (default 127.0.0.1)
  --http-port <port>        REST protocols and /metrics (default 8080; 0 picks a free port)
  --grpc-port <port>        gRPC protocols (default 8081; 0 picks a free port)
  --max-batch-size <rows>   most rows one model call scores when batching requests (default 512)
  --batch-delay <time>      longest wait for a batch to fill, e.g. 500us, 2ms (default 0: batch
                            only what is already waiting)
  --max-queue <n>           requests waiting per model version before more get 429 (default 1024)
  --max-request-size <size> largest request body or gRPC message, e.g. 4MiB (default 16MiB)
  --versions <n>            newest loadable versions of each model served at once (default 1)
  --poll-interval <time>    how often the repository is checked for new versions (default 1s)
  --drain-timeout <time>    how long a shutdown waits for in-flight requests (default 10s)
  --seldon-model <name>     the model Seldon requests without a 'seldon' header go to
  --quiet                   log warnings and errors only
  --verbose                 log debug messages too
  --log-format <f>          pretty (default on a terminal) or json (one object per line, on stderr)`,
    load: async () => (await import('./serve.js')).serveCommand,
  },
  status: {
    summary: 'Show an application running on NATS: replicas, consumer lag, models',
    usage: `sluice status <application> [--nats-url <url>] [--json]

Lists the streamlets of an application started with --runtime nats, each with its running
replicas (process, endpoints, serving model) and wanted count, every inlet's consumer lag
(records waiting, delivered and not yet committed) and the latest model on each model topic.
<application> is its name on the broker (sluice.nats.application; default the blueprint's file name).

  --nats-url <url>     the broker (default nats://127.0.0.1:4222)
  --json               print the status as one JSON document`,
    load: async () => (await import('./status.js')).statusCommand,
  },
  scale: {
    summary: 'Change how many replicas of a streamlet run on NATS',
    usage: `sluice scale <application> <streamlet> <replicas> [--nats-url <url>]

Sets the replicas of one streamlet of an application that sluice run --runtime nats supervises;
the supervisor starts or stops processes to match, while the application runs. Replicas of an
inlet share its records; a model-serving replica started now serves the current model at once.

  --nats-url <url>     the broker (default nats://127.0.0.1:4222)`,
    load: async () => (await import('./scale.js')).scaleCommand,
  },
  deploy: {
    summary: 'Render Kubernetes manifests for an application on NATS',
    usage: `sluice deploy <blueprint> --out <dir> [--conf <file>]... [key=value]... [--image <image>] [--namespace <ns>] [--nats-secret <name>]

Verifies the application as sluice verify does, then writes Kubernetes manifests for the
JetStream runtime into <dir>: per streamlet a Deployment (a StatefulSet when it has volume
mounts and more than one replica) running one replica per pod, a Service for /state and
/metrics, and volume claims; one ConfigMap holding the merged config. Replicas come from
sluice.nats.replicas.<streamlet>; resources and volumes from sluice.deploy (see docs/deploy.md).

  --out <dir>           where the YAML files go (made if missing; files of the same name are replaced)
  --conf <file>         HOCON config layered over the declared defaults; repeat it, later wins
  key=value             an override that wins over every file
  --image <image>       the image the containers run, holding the project at /app (default sluice:<version>)
  --namespace <ns>      namespace of every object (default: none, kubectl's current one)
  --nats-secret <name>  the Secret whose key url holds the NATS URL (default <application>-nats)`,
    load: async () => (await import('./deploy.js')).deployCommand,
  },
};

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // Not what was asked for: the usage is the error message, so it goes to stderr.
    io.err(overview());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(overview());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.err(`sluice: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await (
      await command.load()
    )(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`sluice ${name}: ${err.message}\n\nusage: ${command.usage}\n`);
      return 2;
    }
    throw err;
  }
}

function overview(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `usage: sluice <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'sluice <command> --help' for a command's options.\n`;
}
