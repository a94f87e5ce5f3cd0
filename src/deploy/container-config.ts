/**
 * The one config file every container of the application reads (`--conf`), from the layered
 * config given to `sluice deploy`: its `--conf` files and overrides merged, with what differs in
 * a container set here. Written as JSON, which is HOCON too: substitutions and includes are
 * already resolved, so the file means the same wherever it is read.
 */
import type { Application } from '../blueprint/application.js';
import type { VolumeMountSpecs } from '../core/streamlet.js';
import { isObject, type HoconObject } from './settings.js';

/** The object at `path` of `root`, made where missing (a copy: `root` is built by the caller). */
function objectAt(root: HoconObject, path: readonly string[]): HoconObject {
  let at = root;
  for (const key of path) {
    const next = at[key];
    at[key] = isObject(next) ? { ...next } : {};
    at = at[key] as HoconObject;
  }
  return at;
}

/**
 * `config` (the merged config without `sluice.deploy`) as a container needs it:
 * - the HTTP endpoints listen on every interface, so the kubelet's probes and the Service reach them;
 * - `sluice.nats.url` is left out: the container gets it from a Secret, on its command line;
 * - `sluice.nats.application` is pinned, so renaming the blueprint file does not move the app on the broker;
 * - each volume mount is the path its volume is mounted at (the streamlet's declared container path).
 */
export function containerConfig(config: HoconObject, application: Application, brokerApplication: string): string {
  const root: HoconObject = { ...config };
  const sluice = objectAt(root, ['sluice']);
  objectAt(sluice, ['http']).host = '0.0.0.0';
  const nats = objectAt(sluice, ['nats']);
  delete nats.url;
  nats.application = brokerApplication;
  for (const [name, streamlet] of application.streamlets) {
    const declared = Object.entries(streamlet.definition.volumeMounts as VolumeMountSpecs);
    if (declared.length === 0) continue;
    const mounts = objectAt(sluice, ['streamlets', name, 'volume-mounts']);
    for (const [mount, spec] of declared) mounts[mount] = spec.path;
  }
  return `${JSON.stringify(root, null, 2)}\n`;
}
