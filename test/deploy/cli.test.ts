/**
 * `sluice deploy` as users run it: the compiled CLI (`npx tsc -p tsconfig.build.json` first)
 * writes the manifests and says how to apply them (exit 0); a usage error exits 2 with the
 * usage; an invalid application exits 1 with the message `sluice verify` prints.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sluice, type Finished } from '../support/cli.js';
import { schemaProblems } from './kubernetes-schema.js';
import { readYamlDocuments } from './yaml-reader.js';

const recommender = 'examples/recommender/recommender.conf';
const fraud = 'examples/fraud/fraud.conf';
const scratch = mkdtempSync(join(tmpdir(), 'sluice-deploy-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function expectUsageError(result: Finished, message: string): void {
  expect(result.stderr.startsWith(`sluice deploy: ${message}\n\nusage: sluice deploy <blueprint> --out <dir>`), result.stderr).toBe(true);
  expect(result.stdout).toBe('');
  expect(result.code).toBe(2);
}

describe('sluice deploy', () => {
  it('writes schema-valid manifests for the fraud application and says how to apply them', async () => {
    const out = join(scratch, 'fraud-out');
    const result = await sluice([
      'deploy',
      fraud,
      '--out',
      out,
      '--namespace',
      'fraud',
      '--image',
      'registry.local/fraud:1',
      'sluice.nats.replicas.model-serving=2',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const files = [
      'configmap.yaml',
      'streamlet-transaction-ingress.yaml',
      'streamlet-model-ingress.yaml',
      'streamlet-model-serving.yaml',
      'streamlet-console.yaml',
    ];
    expect(result.stdout).toBe(
      `9 objects for 4 streamlets in 5 files:\n${files.map((f) => `  ${join(out, f)}\n`).join('')}` +
        'Give the containers the broker, then apply:\n' +
        '  kubectl -n fraud create secret generic fraud-nats --from-literal=url=nats://<host>:4222\n' +
        `  kubectl -n fraud apply -f ${out}\n`,
    );
    expect(readdirSync(out).sort()).toEqual([...files].sort());
    const objects = (await Promise.all(files.map(async (f) => readYamlDocuments(readFileSync(join(out, f), 'utf8'))))).flat() as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(objects.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      'ConfigMap fraud-config',
      'Deployment fraud-transaction-ingress',
      'Service fraud-transaction-ingress',
      'Deployment fraud-model-ingress',
      'Service fraud-model-ingress',
      'StatefulSet fraud-model-serving',
      'Service fraud-model-serving',
      'Deployment fraud-console',
      'Service fraud-console',
    ]);
    for (const object of objects) {
      expect(schemaProblems(object), `${object.kind} ${object.metadata.name}`).toEqual([]);
      expect(object.metadata.namespace).toBe('fraud');
    }
    const serving = objects[5];
    expect(serving?.spec.replicas).toBe(2);
    expect(serving?.spec.template.spec.containers[0].image).toBe('registry.local/fraud:1');
    expect(serving?.spec.template.spec.containers[0].args.slice(0, 6)).toEqual([
      'run',
      '/app/examples/fraud/fraud.conf',
      '--runtime',
      'nats',
      '--streamlet',
      'model-serving',
    ]);
  });

  it('renders again over its own files', async () => {
    const out = join(scratch, 'again');
    expect((await sluice(['deploy', recommender, '--out', out])).code).toBe(0);
    const again = await sluice(['deploy', recommender, '--out', out, 'sluice.nats.replicas.console=3']);
    expect(again.code).toBe(0);
    const [deployment] = (await readYamlDocuments(readFileSync(join(out, 'streamlet-console.yaml'), 'utf8'))) as { spec: { replicas: number } }[];
    expect(deployment?.spec.replicas).toBe(3);
  });

  it('is listed in the help', async () => {
    const help = await sluice(['--help']);
    expect(help.stdout).toMatch(/\n {2}deploy +Render Kubernetes manifests for an application on NATS\n/);
    const own = await sluice(['deploy', '--help']);
    expect(own.stdout).toMatch(/^usage: sluice deploy <blueprint> --out <dir>/);
    expect(own.code).toBe(0);
  });

  it('exits 2 on usage errors, naming each', async () => {
    const cases: [string[], string][] = [
      [[recommender], 'missing --out <dir>, the directory the manifests are written to'],
      [['--out', scratch], 'missing the blueprint file'],
      [['no/such.conf', '--out', scratch], 'file not found: no/such.conf'],
      [[recommender, '--out', scratch, '--replicas', '2'], 'unknown option --replicas'],
      [[recommender, '--out'], 'option --out needs a value'],
      [
        [recommender, '--out', scratch, '--image', 'My Image'],
        '--image "My Image" is not an image reference ([registry/]name[:tag][@sha256:digest], name in lowercase, e.g. registry.example.com/team/sluice-app:1.0)',
      ],
      [
        [recommender, '--out', scratch, '--namespace', 'Prod', '--nats-secret', 'a_b'],
        `--namespace "Prod" is not a namespace name (a DNS-1123 label: lowercase letters, digits and '-', at most 63)\n` +
          `--nats-secret "a_b" is not a Secret name (lowercase letters, digits, '-' and '.', at most 253)`,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => sluice(['deploy', ...args])));
    results.forEach((result, i) => expectUsageError(result, cases[i]?.[1] ?? ''));
  });

  it('exits 2 when --out cannot be a directory it writes to', async () => {
    const blocker = join(scratch, 'a-file');
    writeFileSync(blocker, 'x');
    expectUsageError(await sluice(['deploy', recommender, '--out', blocker]), `--out ${blocker} is a file, not a directory`);
    expectUsageError(
      await sluice(['deploy', recommender, '--out', join(blocker, 'sub', 'dir')]),
      `--out ${join(blocker, 'sub', 'dir')}: ${blocker} is a file, not a directory`,
    );
    expect(readFileSync(blocker, 'utf8')).toBe('x');
  });

  it('exits 1 on an invalid application, with the message sluice verify prints, and writes nothing', async () => {
    const bad = join(scratch, 'bad.conf');
    writeFileSync(bad, 'blueprint {\n  streamlets { a = recommender.Nope }\n}\n');
    const out = join(scratch, 'never');
    const [verify, deploy, config, deployConfig] = await Promise.all([
      sluice(['verify', bad]),
      sluice(['deploy', bad, '--out', out]),
      sluice(['deploy', recommender, '--out', out, 'data-ingress.seed=x', 'sluice.deploy.resources.console.memory=lots']),
      sluice(['deploy', recommender, '--out', out, 'sluice.deploy.resources.console.memory=lots']),
    ]);
    expect(verify.code).toBe(1);
    expect(deploy.stderr).toBe(`sluice deploy: ${verify.stderr}`);
    expect(deploy.stdout).toBe('');
    expect(deploy.code).toBe(1);

    expect(config.stderr).toBe(
      'sluice deploy: configuration: 1 problem(s):\n  <command line>:1:1: streamlet data-ingress: config seed expected an integer, got "x"\n',
    );
    expect(config.code).toBe(1);
    expect(deployConfig.stderr).toBe(
      'sluice deploy: configuration: 1 problem(s):\n  <command line>:1:1: sluice.deploy.resources.console.memory expected a Kubernetes quantity such as 512Mi or 1Gi, got "lots"\n',
    );
    expect(deployConfig.code).toBe(1);
    expect(() => readdirSync(out)).toThrow(/ENOENT/);
  });
});
