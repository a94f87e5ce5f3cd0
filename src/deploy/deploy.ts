/**
 * `sluice deploy` as a library call: verify an application as `sluice verify` and `sluice run`
 * do, then render its Kubernetes manifests for the JetStream runtime, and write them as YAML.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { builtinPackages, type ApplicationOptions } from '../app.js';
import type { Application } from '../blueprint/application.js';
import { isDns1123Label } from '../blueprint/blueprint.js';
import { blueprintError, loadBlueprint } from '../blueprint/validate.js';
import { messageOf, SluiceError } from '../core/errors.js';
import { mergeDocuments, parseHocon, parseHoconFile, type HoconDocument } from '../core/hocon.js';
import { overridesDocument, resolveSettings, type ApplicationSettings } from '../runtime/settings.js';
import { packageVersion } from '../util/package-root.js';
import { containerConfig } from './container-config.js';
import { imageProblem, kubernetesPrefix, namespaceProblem, secretNameProblem, workloadNameProblem } from './kubernetes-names.js';
import { CONTAINER_APP_DIR, renderManifests, type ManifestFile } from './manifests.js';
import { resolveDeploySettings, withoutDeploySection, type DeploySettings } from './settings.js';
import { toYamlDocuments } from './yaml.js';

export interface DeployOptions extends Pick<ApplicationOptions, 'blueprint' | 'conf' | 'overrides' | 'packages' | 'cwd'> {
  /** The image every container runs; default `sluice:<version>`. It holds the project at /app. */
  readonly image?: string;
  /** Namespace of every object; default none (kubectl's current namespace). */
  readonly namespace?: string;
  /** The Secret whose key `url` holds the NATS URL(s); default `<application>-nats`. */
  readonly natsSecret?: string;
}

export interface RenderedDeployment {
  readonly application: Application;
  readonly settings: ApplicationSettings;
  readonly deploy: DeploySettings;
  readonly natsSecret: string;
  readonly files: readonly ManifestFile[];
}

/** The problem of each option that is wrong, named by its CLI flag; empty when all are right. */
export function deployOptionProblems(options: Pick<DeployOptions, 'image' | 'namespace' | 'natsSecret'>): string[] {
  const checks: [string, string | undefined, (value: string) => string | undefined][] = [
    ['--image', options.image, imageProblem],
    ['--namespace', options.namespace, namespaceProblem],
    ['--nats-secret', options.natsSecret, secretNameProblem],
  ];
  return checks.flatMap(([flag, value, problem]) => {
    const found = value === undefined ? undefined : problem(value);
    return found === undefined ? [] : [`${flag} ${found}`];
  });
}

/**
 * Verifies the application and renders its manifests. Throws the SluiceError `sluice verify`
 * would for a wrong blueprint or config, SLUICE_ERR_CONFIG_INVALID for wrong `sluice.deploy`
 * settings, SLUICE_ERR_INVALID_ARGUMENT for wrong options.
 */
export async function renderDeployment(options: DeployOptions): Promise<RenderedDeployment> {
  const wrong = deployOptionProblems(options);
  if (wrong.length > 0) throw new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: wrong.join('; ') });
  const cwd = options.cwd ?? process.cwd();

  // verifyApplication's steps, with `sluice.deploy` taken out of each layer before the
  // application's settings are checked (they would be unknown keys there).
  const { application, problems } = await loadBlueprint(options.blueprint, { packages: { ...builtinPackages, ...options.packages } });
  if (!application) throw blueprintError(options.blueprint, problems);
  const layers: HoconDocument[] = [];
  for (const file of options.conf ?? []) layers.push(await parseHoconFile(file));
  layers.push(overridesDocument(options.overrides ?? [], new Set(application.streamlets.keys())));
  const ownLayers = layers.map(withoutDeploySection);
  const settings = resolveSettings(application, ownLayers, cwd);
  const deploy = resolveDeploySettings(mergeDocuments(layers), application);

  const prefix = kubernetesPrefix(settings.nats.application);
  checkContainerContract(application, settings, prefix);
  const config = containerConfig(mergeDocuments(ownLayers).value, application, settings.nats.application);
  // What the containers will read must pass the same checks: a failure here is a bug of deploy.
  resolveSettings(application, [parseHocon(config, { file: 'application.conf', env: {} })], cwd);

  const natsSecret = options.natsSecret ?? `${prefix}-nats`;
  const files = renderManifests({
    application,
    settings,
    deploy,
    config,
    prefix,
    image: options.image ?? `sluice:${packageVersion()}`,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    natsSecret,
    blueprintPath: containerBlueprintPath(options.blueprint, cwd),
  });
  return { application, settings, deploy, natsSecret, files };
}

/**
 * Writes each file as YAML into `directory` (made if missing), over files of the same name;
 * returns the paths written. Throws SLUICE_ERR_MANIFESTS_UNWRITABLE when the directory cannot be written.
 */
export async function writeDeployment(rendered: RenderedDeployment, directory: string): Promise<string[]> {
  const header = `# Rendered by sluice deploy from ${rendered.application.file}: render again rather than edit.\n`;
  const written: string[] = [];
  try {
    await mkdir(directory, { recursive: true });
    for (const file of rendered.files) {
      const path = join(directory, file.name);
      await writeFile(path, header + toYamlDocuments(file.objects));
      written.push(path);
    }
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_MANIFESTS_UNWRITABLE', { directory, message: messageOf(err) }, { cause: err });
  }
  return written;
}

/** What a container needs that a local run does not: a fixed port, and names Kubernetes takes. */
function checkContainerContract(application: Application, settings: ApplicationSettings, prefix: string): void {
  const problems: string[] = [];
  if (settings.host.http.port === 0) {
    problems.push('sluice.http.port is 0 (a free port): a container needs a fixed port for its probes and Service');
  }
  for (const [name, streamlet] of application.streamlets) {
    const problem = workloadNameProblem(`${prefix}-${name}`);
    if (problem !== undefined) {
      problems.push(
        `sluice.nats.application ${JSON.stringify(settings.nats.application)}: the name of streamlet ${name}'s workload, ${problem}; set a shorter one`,
      );
    }
    for (const mount of Object.keys(streamlet.definition.volumeMounts)) {
      // The pod names the volume `state-<mount>`: a DNS-1123 label.
      if (!isDns1123Label(`state-${mount}`))
        problems.push(`streamlet ${name}: volume mount ${JSON.stringify(mount)} cannot name a Kubernetes volume (a DNS-1123 label)`);
    }
  }
  if (problems.length > 0) {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: 'deployment', message: `${problems.length} problem(s):\n  ${problems.join('\n  ')}` });
  }
}

/**
 * The blueprint inside the image: at /app, under its path relative to the directory `sluice
 * deploy` runs in (the project the image is built from); one outside it at /app/<file name>.
 */
function containerBlueprintPath(blueprint: string, cwd: string): string {
  const inside = relative(cwd, resolve(cwd, blueprint));
  const path = inside.startsWith('..') || isAbsolute(inside) ? basename(blueprint) : inside.split(sep).join('/');
  return posix.join(CONTAINER_APP_DIR, path);
}
