/**
 * `renderDeployment` / `writeDeployment`: the recommender and fraud applications rendered with
 * 1, 2 and 4 model-serving replicas, every object checked against the Kubernetes schemas
 * (kubernetes-models) with no field outside them, the container contract of the JetStream
 * runtime, the config the containers read, and every wrong input with its message.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyApplication } from '../../src/app.js';
import { parseHocon } from '../../src/core/hocon.js';
import { SluiceError } from '../../src/core/errors.js';
import { renderDeployment, writeDeployment, type DeployOptions, type RenderedDeployment } from '../../src/deploy/deploy.js';
import type { ManifestObject } from '../../src/deploy/manifests.js';
import { resolveSettings } from '../../src/runtime/settings.js';
import { schemaProblems } from './kubernetes-schema.js';
import { readYamlDocuments } from './yaml-reader.js';

const recommender = 'examples/recommender/recommender.conf';
const fraud = 'examples/fraud/fraud.conf';
const scratch = mkdtempSync(join(tmpdir(), 'sluice-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- reading manifests by path

const objects = (rendered: RenderedDeployment): Obj[] => rendered.files.flatMap((f) => f.objects as Obj[]);
const find = (rendered: RenderedDeployment, kind: string, name: string): Obj => {
  const found = objects(rendered).find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(
      `no ${kind} ${name} in ${objects(rendered)
        .map((o) => `${o.kind} ${o.metadata.name}`)
        .join(', ')}`,
    );
  return found;
};

/** The message of the SluiceError `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SluiceError)) throw new Error(`expected a SluiceError, got ${String(err)}`);
  return { code: err.code, message: err.message };
}

function expectValidManifests(rendered: RenderedDeployment): void {
  for (const object of objects(rendered)) expect(schemaProblems(object), `${object.kind} ${object.metadata.name}`).toEqual([]);
}

describe('the schema check', () => {
  it('catches wrong types, missing fields and fields outside the schema, in maps of objects too', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', labels: { a: 'b' }, lables: {} },
      spec: {
        replicas: '2',
        selector: { matchLabels: { a: 'b' } },
        template: { spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 1, hostname: 'h' }], resources: { requests: { cpu: '1' } } }] } },
      },
    };
    expect(schemaProblems(deployment)).toEqual([
      'apps/v1/Deployment: data/spec/replicas must be integer',
      'apps/v1/Deployment: apps/v1/Deployment.metadata.lables is not a field of the schema',
      'apps/v1/Deployment: apps/v1/Deployment.spec.template.spec.containers[0].ports[0].hostname is not a field of the schema',
    ]);
    expect(schemaProblems({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ targetPort: 80 }] } })).toEqual([
      'v1/Service: data/spec/ports/0 must have required property port',
    ]);
  });
});

describe('renderDeployment, the recommender', () => {
  for (const replicas of [1, 2, 4]) {
    it(`renders valid manifests with ${replicas} model-serving replica(s)`, async () => {
      const rendered = await renderDeployment({ blueprint: recommender, overrides: [`sluice.nats.replicas.model-serving=${replicas}`] });
      expectValidManifests(rendered);
      expect(rendered.files.map((f) => f.name)).toEqual([
        'configmap.yaml',
        'streamlet-data-ingress.yaml',
        'streamlet-model-ingress.yaml',
        'streamlet-model-serving.yaml',
        'streamlet-console.yaml',
      ]);
      const serving = rendered.files.find((f) => f.name === 'streamlet-model-serving.yaml')?.objects as Obj[];
      // model-serving has a volume mount: with one replica a Deployment and its claim, beyond that a StatefulSet claiming per replica.
      if (replicas === 1) {
        expect(serving.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
          'Deployment recommender-model-serving',
          'Service recommender-model-serving',
          'PersistentVolumeClaim recommender-model-serving-models',
        ]);
        const deployment = serving[0] as Obj;
        expect(deployment.spec.replicas).toBe(1);
        expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
        expect(deployment.spec.template.spec.volumes).toEqual([
          { name: 'config', configMap: { name: 'recommender-config' } },
          { name: 'state-models', persistentVolumeClaim: { claimName: 'recommender-model-serving-models' } },
        ]);
        expect((serving[2] as Obj).spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
      } else {
        expect(serving.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual(['StatefulSet recommender-model-serving', 'Service recommender-model-serving']);
        const set = serving[0] as Obj;
        expect(set.spec.replicas).toBe(replicas);
        expect(set.spec.serviceName).toBe('recommender-model-serving');
        expect(set.spec.volumeClaimTemplates.map((t: Obj) => [t.metadata.name, t.spec])).toEqual([
          ['state-models', { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }],
        ]);
        expect(set.spec.template.spec.volumes).toEqual([{ name: 'config', configMap: { name: 'recommender-config' } }]);
      }
      // Streamlets without volume mounts stay Deployments with one replica each.
      for (const name of ['data-ingress', 'model-ingress', 'console']) {
        const deployment = find(rendered, 'Deployment', `recommender-${name}`);
        expect(deployment.spec.replicas).toBe(1);
        expect(deployment.spec.strategy).toBeUndefined();
      }
    });
  }

  it('runs one replica of one streamlet per container, with the NATS URL from the Secret', async () => {
    const rendered = await renderDeployment({ blueprint: recommender });
    const pod = find(rendered, 'Deployment', 'recommender-console').spec.template;
    const [container, ...others] = pod.spec.containers as Obj[];
    expect(others).toEqual([]);
    expect(container?.image).toBe(`sluice:${JSON.parse(readFileSync('package.json', 'utf8')).version}`);
    expect(container?.command).toEqual(['sluice']);
    expect(container?.workingDir).toBe('/app');
    expect(container?.args).toEqual([
      'run',
      '/app/examples/recommender/recommender.conf',
      '--runtime',
      'nats',
      '--streamlet',
      'console',
      '--conf',
      '/etc/sluice/application.conf',
      '--log-format',
      'json',
      'sluice.nats.url=$(SLUICE_NATS_URL)',
    ]);
    expect(container?.env).toEqual([
      { name: 'SLUICE_NATS_URL', valueFrom: { secretKeyRef: { name: 'recommender-nats', key: 'url' } } },
      { name: 'SLUICE_REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
    expect(container?.ports).toEqual([{ name: 'http', containerPort: 5000, protocol: 'TCP' }]);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container?.[probe].httpGet).toEqual({ path: '/streamlets', port: 'http' });
    expect(container?.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '512Mi' } });
    expect(container?.volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/sluice', readOnly: true }]);
    // drain-timeout (10 s by default) and a margin, before the kubelet kills a stopping replica.
    expect(pod.spec.terminationGracePeriodSeconds).toBe(15);
    expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '5000', 'prometheus.io/path': '/metrics' });
  });

  it('labels every object, selects pods by part-of and component, and exposes the HTTP port in a Service', async () => {
    const rendered = await renderDeployment({ blueprint: recommender, overrides: ['sluice.http.port=8080'] });
    for (const object of objects(rendered)) {
      expect(object.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'recommender', 'app.kubernetes.io/managed-by': 'sluice' });
      expect(object.metadata.namespace).toBeUndefined();
    }
    for (const name of ['data-ingress', 'model-ingress', 'model-serving', 'console']) {
      const workload = find(rendered, 'Deployment', `recommender-${name}`);
      const service = find(rendered, 'Service', `recommender-${name}`);
      const podLabels = workload.spec.template.metadata.labels;
      expect(podLabels).toMatchObject({ 'app.kubernetes.io/name': `recommender-${name}`, 'app.kubernetes.io/component': name });
      expect(workload.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/part-of': 'recommender', 'app.kubernetes.io/component': name });
      expect(podLabels).toMatchObject(workload.spec.selector.matchLabels);
      expect(service.spec.selector).toEqual(workload.spec.selector.matchLabels);
      expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
      expect(workload.spec.template.spec.containers[0].ports[0].containerPort).toBe(8080);
    }
  });

  it('puts the merged config in the ConfigMap, as the containers need it', async () => {
    const conf = file(
      'layer.conf',
      'sluice.drain-timeout = 20s\nsluice.streamlets.data-ingress.config.records-per-second = 50\nsluice.deploy.volume-size = 3Gi\nsluice.nats.url = "nats://laptop:4222"\n',
    );
    const rendered = await renderDeployment({
      blueprint: recommender,
      conf: [conf],
      overrides: ['data-ingress.seed=7', 'sluice.streamlets.model-serving.volume-mounts.models=./here', 'sluice.nats.application=reco_prod'],
    });
    expectValidManifests(rendered);
    const configMap = find(rendered, 'ConfigMap', 'reco-prod-config');
    const text = configMap.data['application.conf'] as string;
    const config = parseHocon(text).value as Obj;
    expect(config.sluice.http).toEqual({ host: '0.0.0.0' });
    expect(config.sluice.nats).toEqual({ application: 'reco_prod' });
    expect(config.sluice.deploy).toBeUndefined();
    expect(config.sluice['drain-timeout']).toBe('20s');
    expect(config.sluice.streamlets['data-ingress'].config).toEqual({ 'records-per-second': 50, seed: '7' });
    expect(config.sluice.streamlets['model-serving']['volume-mounts']).toEqual({ models: '/var/lib/sluice/models' });
    // What a container reads verifies as the same application.
    const { application } = await verifyApplication({ blueprint: recommender });
    const settings = resolveSettings(application, [parseHocon(text)]);
    expect(settings.host.http).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(settings.nats.application).toBe('reco_prod');
    expect(settings.streamlets.get('model-serving')?.volumes).toEqual({ models: '/var/lib/sluice/models' });
    expect(settings.streamlets.get('data-ingress')?.config).toMatchObject({ 'records-per-second': 50, seed: 7 });
    // The layered settings reach the manifests: names, sizes, grace period, and a pod template that changes with the config.
    const serving = find(rendered, 'Deployment', 'reco-prod-model-serving');
    expect(serving.spec.template.spec.terminationGracePeriodSeconds).toBe(25);
    expect(find(rendered, 'PersistentVolumeClaim', 'reco-prod-model-serving-models').spec.resources.requests.storage).toBe('3Gi');
    const other = await renderDeployment({ blueprint: recommender, overrides: ['sluice.nats.application=reco_prod'] });
    expect(find(other, 'Deployment', 'reco-prod-model-serving').spec.template.metadata.annotations['sluice.io/config-sha256']).not.toBe(
      serving.spec.template.metadata.annotations['sluice.io/config-sha256'],
    );
  });

  it('writes YAML files that read back as the rendered objects, under a header', async () => {
    const rendered = await renderDeployment({ blueprint: recommender, overrides: ['sluice.nats.replicas.model-serving=2'] });
    const out = join(scratch, 'out', 'nested');
    const written = await writeDeployment(rendered, out);
    expect(written).toEqual(rendered.files.map((f) => join(out, f.name)));
    for (const [i, path] of written.entries()) {
      const text = readFileSync(path, 'utf8');
      expect(text.startsWith(`# Rendered by sluice deploy from ${recommender}: render again rather than edit.\n`)).toBe(true);
      expect(await readYamlDocuments(text)).toEqual(rendered.files[i]?.objects);
    }
  });
});

describe('renderDeployment, the fraud application', () => {
  it('renders valid manifests with resources, replicas, namespace, image and Secret from the options and config', async () => {
    const conf = file(
      'fraud-deploy.conf',
      `sluice.nats.replicas { model-serving = 4, transaction-ingress = 2 }
sluice.deploy {
  volume-size = 500Mi
  storage-class = fast-ssd
  resources.model-serving { cpu = 1, memory = 1Gi, cpu-limit = 2, memory-limit = 2Gi }
  resources.console { cpu = 0.1 }
}
`,
    );
    const options: DeployOptions = {
      blueprint: fraud,
      conf: [conf],
      image: 'registry.example.com:5000/fraud/sluice-app:1.2',
      namespace: 'fraud',
      natsSecret: 'broker',
    };
    const rendered = await renderDeployment(options);
    expectValidManifests(rendered);
    for (const object of objects(rendered)) expect(object.metadata.namespace).toBe('fraud');
    expect(rendered.natsSecret).toBe('broker');
    const serving = find(rendered, 'StatefulSet', 'fraud-model-serving');
    expect(serving.spec.replicas).toBe(4);
    expect(serving.spec.volumeClaimTemplates[0].spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast-ssd',
      resources: { requests: { storage: '500Mi' } },
    });
    const container = serving.spec.template.spec.containers[0];
    expect(container.image).toBe(options.image);
    expect(container.args[1]).toBe('/app/examples/fraud/fraud.conf');
    expect(container.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(container.env[0].valueFrom.secretKeyRef).toEqual({ name: 'broker', key: 'url' });
    expect(find(rendered, 'Deployment', 'fraud-transaction-ingress').spec.replicas).toBe(2);
    expect(find(rendered, 'Deployment', 'fraud-console').spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: '0.1', memory: '512Mi' },
      limits: { memory: '512Mi' },
    });
  });

  it('renders a streamlet scaled to 0 as a Deployment of 0 replicas, and a blueprint outside the project at /app/<file name>', async () => {
    const outside = file('fraud.conf', readFileSync(fraud, 'utf8'));
    const rendered = await renderDeployment({
      blueprint: outside,
      overrides: ['sluice.nats.replicas.console=0', 'sluice.metrics.enabled=false'],
      cwd: process.cwd(),
    });
    expectValidManifests(rendered);
    const console = find(rendered, 'Deployment', 'fraud-console');
    expect(console.spec.replicas).toBe(0);
    expect(console.spec.template.spec.containers[0].args[1]).toBe('/app/fraud.conf');
    expect(Object.keys(console.spec.template.metadata.annotations)).toEqual(['sluice.io/config-sha256']);
  });
});

describe('renderDeployment, wrong input', () => {
  it('fails on a bad blueprint with the message sluice verify gives', async () => {
    const bad = file('bad.conf', 'blueprint {\n  streamlets { Serving = recommender.Nope }\n  connections { x.out = [y.in] }\n}\n');
    const expected = await failure(verifyApplication({ blueprint: bad }));
    expect(expected.code).toBe('SLUICE_ERR_BLUEPRINT_INVALID');
    expect(await failure(renderDeployment({ blueprint: bad }))).toEqual(expected);
  });

  it('fails on bad application config with the message sluice verify gives', async () => {
    const conf = file('bad-app.conf', 'sluice.http.port = -1\ndata-ingress.seed = many\nsluice.nats.replicas.nobody = 2\n');
    const expected = await failure(verifyApplication({ blueprint: recommender, conf: [conf], overrides: ['sluice.nats.url=http://x'] }));
    expect(expected.code).toBe('SLUICE_ERR_CONFIG_INVALID');
    expect(await failure(renderDeployment({ blueprint: recommender, conf: [conf], overrides: ['sluice.nats.url=http://x'] }))).toEqual(expected);
  });

  it('reports every wrong sluice.deploy setting with its file and line', async () => {
    const conf = file(
      'bad-deploy.conf',
      `sluice.deploy {
  volume-size = lots
  storage-class = "Fast SSD"
  replicas = 3
  resources {
    model-serving { cpu = -1, memory = 512m, gpu = 1 }
    console { cpu = 2, cpu-limit = 500m, memory = 1Gi, memory-limit = 512Mi }
    nobody { cpu = 1 }
  }
}
`,
    );
    const { code, message } = await failure(
      renderDeployment({ blueprint: recommender, conf: [conf], overrides: ['sluice.deploy.resources.data-ingress=small'] }),
    );
    expect(code).toBe('SLUICE_ERR_CONFIG_INVALID');
    const at = (line: number, column: number) => `${conf}:${line}:${column}`;
    expect(message.split('\n')).toEqual([
      'configuration: 10 problem(s):',
      `  ${at(2, 3)}: sluice.deploy.volume-size expected a Kubernetes quantity such as 512Mi or 1Gi, got "lots"`,
      `  ${at(3, 3)}: sluice.deploy.storage-class expected a StorageClass name (lowercase letters, digits, '-' and '.'), got "Fast SSD"`,
      `  ${at(4, 3)}: sluice.deploy.replicas is unknown (known: volume-size, storage-class)`,
      `  ${at(6, 21)}: sluice.deploy.resources.model-serving.cpu expected a Kubernetes quantity such as 250m or 2, got "-1"`,
      `  ${at(6, 31)}: sluice.deploy.resources.model-serving.memory expected a Kubernetes quantity such as 512Mi or 1Gi, got "512m"`,
      `  ${at(6, 46)}: sluice.deploy.resources.model-serving.gpu is unknown (known: cpu, memory, cpu-limit, memory-limit)`,
      `  ${at(7, 24)}: sluice.deploy.resources.console.cpu-limit 500m is less than the request 2 (cpu)`,
      `  ${at(7, 56)}: sluice.deploy.resources.console.memory-limit 512Mi is less than the request 1Gi (memory)`,
      `  ${at(8, 5)}: sluice.deploy.resources.nobody: the blueprint has no streamlet nobody (streamlets: data-ingress, model-ingress, model-serving, console)`,
      `  <command line>:1:1: sluice.deploy.resources.data-ingress must be an object, got "small"`,
    ]);
  });

  it('refuses a free HTTP port and names too long for Kubernetes', async () => {
    const name = 'a'.repeat(40);
    const { code, message } = await failure(renderDeployment({ blueprint: recommender, overrides: ['sluice.http.port=0', `sluice.nats.application=${name}`] }));
    expect(code).toBe('SLUICE_ERR_CONFIG_INVALID');
    expect(message.split('\n')).toEqual([
      'deployment: 4 problem(s):',
      '  sluice.http.port is 0 (a free port): a container needs a fixed port for its probes and Service',
      `  sluice.nats.application "${name}": the name of streamlet data-ingress's workload, "${name}-data-ingress" is longer than 52 characters; set a shorter one`,
      `  sluice.nats.application "${name}": the name of streamlet model-ingress's workload, "${name}-model-ingress" is longer than 52 characters; set a shorter one`,
      `  sluice.nats.application "${name}": the name of streamlet model-serving's workload, "${name}-model-serving" is longer than 52 characters; set a shorter one`,
    ]);
    const digits = await failure(renderDeployment({ blueprint: recommender, overrides: ['sluice.nats.application=42'] }));
    expect(digits.message).toContain(`sluice.nats.application "42": the name of streamlet console's workload, "42-console" does not start with a letter`);
  });

  it('refuses a wrong image, namespace or Secret name, naming each', async () => {
    const { code, message } = await failure(renderDeployment({ blueprint: recommender, image: 'Sluice App:latest', namespace: 'Prod_1', natsSecret: '-nats' }));
    expect(code).toBe('SLUICE_ERR_INVALID_ARGUMENT');
    expect(message).toBe(
      '--image "Sluice App:latest" is not an image reference ([registry/]name[:tag][@sha256:digest], name in lowercase, e.g. registry.example.com/team/sluice-app:1.0); ' +
        `--namespace "Prod_1" is not a namespace name (a DNS-1123 label: lowercase letters, digits and '-', at most 63); ` +
        `--nats-secret "-nats" is not a Secret name (lowercase letters, digits, '-' and '.', at most 253)`,
    );
    for (const image of ['sluice', 'sluice:0.1.0', 'localhost:5000/sluice', 'ghcr.io/org/team/sluice-app:v1.2.3-rc.1', `sluice@sha256:${'a'.repeat(64)}`]) {
      await expect(renderDeployment({ blueprint: recommender, image })).resolves.toBeDefined();
    }
    for (const image of ['', 'UPPER', 'sluice:', 'sluice:-tag', 'a//b', 'sluice@sha256:abc', 'http://registry/sluice']) {
      expect((await failure(renderDeployment({ blueprint: recommender, image }))).message).toMatch(/^--image .* is not an image reference/);
    }
  });

  it('names the directory it cannot write to', async () => {
    const rendered = await renderDeployment({ blueprint: recommender });
    const blocker = file('a-file', 'x');
    const { code, message } = await failure(writeDeployment(rendered, join(blocker, 'out')));
    expect(code).toBe('SLUICE_ERR_MANIFESTS_UNWRITABLE');
    expect(message).toMatch(new RegExp(`^cannot write the manifests to ${blocker}/out: ENOTDIR`));
  });
});
