/**
 * Kubernetes objects for an application on the JetStream runtime: per streamlet, a workload
 * whose pods each run one replica (`sluice run <blueprint> --runtime nats --streamlet <name>`),
 * a Service for its HTTP endpoints, and claims for its volume mounts; for the application, one
 * ConfigMap holding the config every container reads.
 *
 * A streamlet with volume mounts and more than one replica is a StatefulSet: a ReadWriteOnce
 * claim is mounted by one node at a time, so each replica gets claims of its own from
 * `volumeClaimTemplates`. Every other streamlet is a Deployment; one with volume mounts (one
 * replica) uses the `Recreate` strategy, so the old pod lets go of its claim before the new one
 * mounts it.
 */
import { createHash } from 'node:crypto';
import type { Application } from '../blueprint/application.js';
import type { VolumeMountSpecs } from '../core/streamlet.js';
import type { ApplicationSettings } from '../runtime/settings.js';
import type { DeploySettings, ReplicaResources } from './settings.js';
import type { YamlValue } from './yaml.js';

/** Where the container finds things: the image holds the project at `/app`. */
export const CONTAINER_APP_DIR = '/app';
export const CONTAINER_CONFIG_DIR = '/etc/sluice';
export const CONTAINER_CONFIG_FILE = 'application.conf';
/** The Secret key holding the NATS URL(s). */
export const NATS_SECRET_KEY = 'url';
/** The uid and gid of the `node` user of the official Node.js images; volumes are made writable for it. */
const CONTAINER_USER = 1000;
/** The endpoint the probes ask: served as soon as the replica is connected and running. */
const PROBE_PATH = '/streamlets';

export type ManifestObject = { readonly [key: string]: YamlValue };

export interface ManifestFile {
  /** File name in the output directory. */
  readonly name: string;
  readonly objects: readonly ManifestObject[];
}

export interface ManifestInput {
  readonly application: Application;
  readonly settings: ApplicationSettings;
  readonly deploy: DeploySettings;
  /** `containerConfig()` of the application. */
  readonly config: string;
  /** Prefix of every object name, checked: `<prefix>-<streamlet>` fits a workload name. */
  readonly prefix: string;
  readonly image: string;
  readonly namespace?: string;
  readonly natsSecret: string;
  /** The blueprint's path inside the image. */
  readonly blueprintPath: string;
}

export function renderManifests(input: ManifestInput): ManifestFile[] {
  const { application, prefix } = input;
  const configMap = `${prefix}-config`;
  const files: ManifestFile[] = [
    {
      name: 'configmap.yaml',
      objects: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: metadata(input, configMap, labels(input)),
          data: { [CONTAINER_CONFIG_FILE]: input.config },
        },
      ],
    },
  ];
  // A changed config changes the pod template, so `kubectl apply` rolls the pods onto it.
  const configHash = createHash('sha256').update(input.config).digest('hex').slice(0, 16);
  for (const name of application.streamlets.keys()) {
    files.push({ name: `streamlet-${name}.yaml`, objects: streamletObjects(input, name, configMap, configHash) });
  }
  return files;
}

function labels(input: ManifestInput, streamlet?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': streamlet === undefined ? input.prefix : `${input.prefix}-${streamlet}`,
    'app.kubernetes.io/part-of': input.prefix,
    ...(streamlet === undefined ? {} : { 'app.kubernetes.io/component': streamlet }),
    'app.kubernetes.io/managed-by': 'sluice',
  };
}

function metadata(input: ManifestInput, name: string, objectLabels: Record<string, string>): ManifestObject {
  return { name, ...(input.namespace === undefined ? {} : { namespace: input.namespace }), labels: objectLabels };
}

function streamletObjects(input: ManifestInput, streamlet: string, configMap: string, configHash: string): ManifestObject[] {
  const { settings, deploy } = input;
  const name = `${input.prefix}-${streamlet}`;
  const podLabels = labels(input, streamlet);
  const selector = { 'app.kubernetes.io/part-of': input.prefix, 'app.kubernetes.io/component': streamlet };
  const replicas = settings.nats.replicas.get(streamlet) ?? 1;
  const mounts = Object.entries((input.application.streamlets.get(streamlet)?.definition.volumeMounts ?? {}) as VolumeMountSpecs);
  const stateful = mounts.length > 0 && replicas > 1;
  const port = settings.host.http.port;

  const claimSpec: ManifestObject = {
    accessModes: ['ReadWriteOnce'],
    ...(deploy.storageClass === '' ? {} : { storageClassName: deploy.storageClass }),
    resources: { requests: { storage: deploy.volumeSize } },
  };
  const volumeName = (mount: string) => `state-${mount}`;
  const claimName = (mount: string) => `${name}-${mount}`;

  const container: ManifestObject = {
    name: streamlet,
    image: input.image,
    workingDir: CONTAINER_APP_DIR,
    command: ['sluice'],
    args: [
      'run',
      input.blueprintPath,
      '--runtime',
      'nats',
      '--streamlet',
      streamlet,
      '--conf',
      `${CONTAINER_CONFIG_DIR}/${CONTAINER_CONFIG_FILE}`,
      '--log-format',
      'json',
      // Kubernetes expands $(VAR) in args from the container's env.
      'sluice.nats.url=$(SLUICE_NATS_URL)',
    ],
    env: [
      { name: 'SLUICE_NATS_URL', valueFrom: { secretKeyRef: { name: input.natsSecret, key: NATS_SECRET_KEY } } },
      // `sluice status` lists replicas by this id: the pod's name says where to look.
      { name: 'SLUICE_REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    resources: resources(deploy.resources.get(streamlet)),
    // The endpoints listen only once the broker is reached: a replica waiting for it at start
    // is not ready, and the startup probe gives it ten minutes before the kubelet restarts it.
    startupProbe: probe(5, 120),
    readinessProbe: probe(5, 3),
    livenessProbe: probe(10, 3),
    volumeMounts: [
      { name: 'config', mountPath: CONTAINER_CONFIG_DIR, readOnly: true },
      ...mounts.map(([mount, spec]) => ({ name: volumeName(mount), mountPath: spec.path })),
    ],
  };
  const podSpec: ManifestObject = {
    // A stopping replica hands back what it holds and finishes the batch in hand.
    terminationGracePeriodSeconds: Math.ceil(settings.host.drainTimeout / 1000) + 5,
    securityContext: { runAsUser: CONTAINER_USER, runAsGroup: CONTAINER_USER, fsGroup: CONTAINER_USER, runAsNonRoot: true },
    containers: [container],
    volumes: [
      { name: 'config', configMap: { name: configMap } },
      ...(stateful ? [] : mounts.map(([mount]) => ({ name: volumeName(mount), persistentVolumeClaim: { claimName: claimName(mount) } }))),
    ],
  };
  const template: ManifestObject = {
    metadata: {
      labels: podLabels,
      annotations: {
        'sluice.io/config-sha256': configHash,
        ...(settings.metricsEnabled ? { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' } : {}),
      },
    },
    spec: podSpec,
  };

  const workload: ManifestObject = stateful
    ? {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: metadata(input, name, podLabels),
        spec: {
          serviceName: name,
          replicas,
          // Replicas are alike and independent: start and stop them together, not one by one.
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: selector },
          template,
          volumeClaimTemplates: mounts.map(([mount]) => ({ metadata: { name: volumeName(mount), labels: podLabels }, spec: claimSpec })),
        },
      }
    : {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: metadata(input, name, podLabels),
        spec: {
          replicas,
          selector: { matchLabels: selector },
          ...(mounts.length > 0 ? { strategy: { type: 'Recreate' } } : {}),
          template,
        },
      };
  const service: ManifestObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(input, name, podLabels),
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
  };
  const claims: ManifestObject[] = stateful
    ? []
    : mounts.map(([mount]) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: metadata(input, claimName(mount), podLabels), spec: claimSpec }));
  return [workload, service, ...claims];
}

function resources(own: ReplicaResources | undefined): ManifestObject {
  if (own === undefined) return {};
  return { requests: { ...own.requests }, limits: { ...own.limits } };
}

function probe(periodSeconds: number, failureThreshold: number): ManifestObject {
  return { httpGet: { path: PROBE_PATH, port: 'http' }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}
