/**
 * Finds the streamlet definition behind a blueprint class name such as `recommender.DataIngress`:
 * `recommender` is the package, `DataIngress` the class. Packages come from code first (built-ins
 * and examples, possibly imported lazily), then from the blueprint's `modules` section, which
 * points at a user's own module file.
 */
import { pathToFileURL } from 'node:url';
import { SluiceError, messageOf } from '../core/errors.js';
import type { AnyStreamlet, StreamletPackage } from '../core/streamlet.js';

export type StreamletResolver = (className: string) => Promise<AnyStreamlet>;

/**
 * Loads a package lazily, e.g. `() => import('../../examples/recommender/streamlets.js')`. The
 * result may be the package itself or a module namespace, read like a blueprint module.
 */
export type PackageLoader = () => Promise<object>;
export type PackageSource = StreamletPackage | PackageLoader;

export interface StreamletResolverOptions {
  /** Packages given in code: package name → package, or a loader for it. Looked up first. */
  readonly packages?: Readonly<Record<string, PackageSource>>;
  /** The blueprint's `modules`: package name → absolute path of a module to import. */
  readonly blueprintModules?: Readonly<Record<string, string>>;
}

interface Candidate {
  readonly id: string;
  /** Where the package comes from, for messages. */
  readonly origin: string;
  load(): Promise<StreamletPackage>;
}

/**
 * Each package is loaded at most once per resolver (a failed load is remembered, so a broken
 * module is imported once however many streamlets use it). Throws SLUICE_ERR_STREAMLET_NOT_FOUND
 * when no package has the class, SLUICE_ERR_STREAMLET_LOAD_FAILED when a package cannot be loaded
 * or the class is not a streamlet definition.
 */
export function createStreamletResolver(options: StreamletResolverOptions = {}): StreamletResolver {
  const packages = options.packages ?? {};
  const modules = options.blueprintModules ?? {};
  const loads = new Map<string, Promise<StreamletPackage>>();
  const known = [...new Set([...Object.keys(packages), ...Object.keys(modules)])].sort();
  const knownText = known.length > 0 ? known.join(', ') : 'none';

  const candidatesOf = (pkg: string): Candidate[] => {
    const found: Candidate[] = [];
    const source = Object.hasOwn(packages, pkg) ? packages[pkg] : undefined;
    if (source !== undefined) {
      found.push({
        id: `code:${pkg}`,
        origin: `package ${pkg}`,
        load: async () => (typeof source === 'function' ? packageOf(await source()) : source),
      });
    }
    const file = Object.hasOwn(modules, pkg) ? modules[pkg] : undefined;
    if (file !== undefined) {
      found.push({
        id: `module:${file}`,
        origin: `module ${file} (package ${pkg})`,
        load: async () => packageOf(await importModule(file)),
      });
    }
    return found;
  };

  const load = (candidate: Candidate): Promise<StreamletPackage> => {
    let loading = loads.get(candidate.id);
    if (!loading) {
      loading = candidate.load();
      loads.set(candidate.id, loading);
    }
    return loading;
  };

  return async (className: string): Promise<AnyStreamlet> => {
    const dot = className.lastIndexOf('.');
    if (dot <= 0 || dot === className.length - 1) {
      throw new SluiceError('SLUICE_ERR_STREAMLET_NOT_FOUND', {
        className,
        message: `class names have the form package.Class (packages: ${knownText})`,
      });
    }
    const pkg = className.slice(0, dot);
    const name = className.slice(dot + 1);
    const candidates = candidatesOf(pkg);
    if (candidates.length === 0) {
      throw new SluiceError('SLUICE_ERR_STREAMLET_NOT_FOUND', { className, message: `package ${pkg} is not known (packages: ${knownText})` });
    }
    const classes = new Set<string>();
    for (const candidate of candidates) {
      let loaded: StreamletPackage;
      try {
        loaded = await load(candidate);
      } catch (err) {
        throw new SluiceError(
          'SLUICE_ERR_STREAMLET_LOAD_FAILED',
          { className, message: `${candidate.origin} failed to load: ${messageOf(err)}` },
          { cause: err },
        );
      }
      if (Object.hasOwn(loaded, name)) {
        const definition: unknown = loaded[name];
        if (!isStreamletDefinition(definition)) {
          throw new SluiceError('SLUICE_ERR_STREAMLET_LOAD_FAILED', {
            className,
            message: `${candidate.origin} exports ${name}, but it is not a streamlet definition (use defineStreamlet)`,
          });
        }
        return definition;
      }
      for (const key of Object.keys(loaded)) classes.add(key);
    }
    const list = classes.size > 0 ? [...classes].sort().join(', ') : 'none';
    throw new SluiceError('SLUICE_ERR_STREAMLET_NOT_FOUND', { className, message: `package ${pkg} has no class ${name} (classes: ${list})` });
  };
}

/**
 * Imports a user's module. TypeScript modules go through tsx, so a blueprint can name `.ts`
 * streamlets even when Sluice itself runs as compiled JavaScript.
 */
async function importModule(file: string): Promise<object> {
  if (/\.[cm]?ts$/.test(file)) {
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(pathToFileURL(file).href, import.meta.url)) as object;
  }
  return (await import(pathToFileURL(file).href)) as object;
}

/**
 * A module is a streamlet package through its default export, or its named export `streamlets`,
 * or else through the streamlet definitions it exports by name.
 */
function packageOf(loaded: object): StreamletPackage {
  const exports = loaded as Readonly<Record<string, unknown>>;
  for (const candidate of [exports['default'], exports['streamlets']]) {
    if (isPackage(candidate)) return candidate;
  }
  if (isPackage(exports)) {
    return Object.freeze(Object.fromEntries(Object.entries(exports).filter(([, value]) => isStreamletDefinition(value)))) as StreamletPackage;
  }
  throw new Error('it exports no streamlets: expected a default export or a named export "streamlets" mapping class names to streamlet definitions');
}

function isPackage(value: unknown): value is StreamletPackage {
  return typeof value === 'object' && value !== null && !isStreamletDefinition(value) && Object.values(value).some(isStreamletDefinition);
}

function isStreamletDefinition(value: unknown): value is AnyStreamlet {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Readonly<Record<string, unknown>>;
  return typeof candidate['run'] === 'function' && typeof candidate['inlets'] === 'object' && typeof candidate['outlets'] === 'object';
}
