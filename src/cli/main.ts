/**
 * The `sluice` command. Thin on purpose: it parses arguments, then lazily imports the command,
 * which calls the same public API library users get.
 *
 * Exit codes: 0 success, 1 the application failed or the blueprint/config is invalid,
 * 2 a usage error (unknown option, missing file).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
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
    usage: `sluice run <blueprint> [--conf <file>]... [key=value]... [--quiet | --verbose] [--log-format json|pretty]

Runs every streamlet of the blueprint in this process (the local runtime) until SIGINT or
SIGTERM, which drain in-flight work and persist state before exiting.

  --conf <file>        HOCON config layered over the declared defaults; repeat it, later wins
  key=value            an override that wins over every file, e.g.
                         sluice.http.port=8080
                         data-ingress.records-per-second=200   (a streamlet's config, shorthand)
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
  serve: {
    summary: 'Serve a model repository over Open Inference, TF Serving and Seldon protocols',
    usage: `sluice serve --models <dir> [options]

Serves every model of the repository <dir> (one folder per model, numbered version folders
holding model.onnx, model.pmml, model.tfjs or model.json) over Open Inference REST and gRPC,
TF Serving REST and gRPC, and Seldon REST, until SIGINT or SIGTERM, which answer in-flight
requests and unload the models. New version folders are picked up while it runs. See docs/serve.md.

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
    io.out(`${version()}\n`);
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

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
