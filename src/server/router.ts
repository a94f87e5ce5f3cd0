/**
 * A minimal HTTP router: routes are paths with `{name}` parameters, tried in the order added.
 * A path that some route matches with another method is "method not allowed", with the
 * methods that are allowed, rather than "not found".
 */
import { SluiceError } from '../core/errors.js';

export interface RoutePattern {
  readonly method: string;
  readonly path: string;
}

export type RouteMatch<R> = { readonly route: R; readonly params: Record<string, string> } | { readonly allowed: readonly string[] } | undefined;

interface Compiled<R> {
  readonly route: R;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

export class Router<R extends RoutePattern> {
  private readonly routes: Compiled<R>[] = [];

  add(route: R): this {
    if (this.routes.some((r) => r.route.method === route.method && r.route.path === route.path)) {
      throw new SluiceError('SLUICE_ERR_PLUGIN_DUPLICATE', { kind: 'route', name: `${route.method} ${route.path}` });
    }
    const names: string[] = [];
    const source = route.path
      .split(/(\{\w+\})/)
      .map((part) => {
        const param = /^\{(\w+)\}$/.exec(part);
        if (!param) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        names.push(param[1] as string);
        return '([^/:]+)';
      })
      .join('');
    this.routes.push({ route, regex: new RegExp(`^${source}$`), names });
    return this;
  }

  match(method: string, path: string): RouteMatch<R> {
    const allowed: string[] = [];
    for (const { route, regex, names } of this.routes) {
      const found = regex.exec(path);
      if (!found) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) {
        const raw = found[i + 1] as string;
        try {
          params[names[i] as string] = decodeURIComponent(raw);
        } catch {
          params[names[i] as string] = raw;
        }
      }
      return { route, params };
    }
    return allowed.length > 0 ? { allowed: [...new Set(allowed)] } : undefined;
  }
}
