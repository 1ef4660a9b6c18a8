// Finds the feature route for a request. Routes come from the feature files (data); they are
// grouped by first path segment so a lookup tests only the handful of routes of one module.
import type { FeatureModule } from '../features/module.js';
import type { HttpMethod, RouteSpec } from '../features/route.js';
import { compilePattern } from '../features/pattern.js';

export interface RouteMatch {
  module: FeatureModule;
  route: RouteSpec;
  params: Record<string, string>;
  /** Path relative to the module's mount, as the smart proxy's 403 texts name it. */
  pathInModule: string;
}

interface CompiledRoute {
  module: FeatureModule;
  route: RouteSpec;
  match: (path: string) => Record<string, string> | undefined;
}

function firstSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

export class Router {
  private readonly bySegment = new Map<string, CompiledRoute[]>();

  constructor(modules: FeatureModule[]) {
    // Longer mounts first, so /puppet/ca routes win over /puppet ones.
    const ordered = [...modules].sort((a, b) => longestMount(b) - longestMount(a));
    for (const module of ordered) {
      for (const route of module.routes) {
        const seg = firstSegment(route.pattern);
        const list = this.bySegment.get(seg) ?? [];
        list.push({ module, route, match: compilePattern(route.pattern) });
        this.bySegment.set(seg, list);
      }
    }
  }

  match(method: HttpMethod, path: string): RouteMatch | undefined {
    const candidates = this.bySegment.get(firstSegment(path));
    if (!candidates) return undefined;
    for (const c of candidates) {
      if (c.route.method !== method) continue;
      const params = c.match(path);
      if (params) return { module: c.module, route: c.route, params, pathInModule: relativeToMount(c.module, path) };
    }
    return undefined;
  }
}

function longestMount(m: FeatureModule): number {
  return Math.max(...m.mounts.map((x) => x.length));
}

function relativeToMount(module: FeatureModule, path: string): string {
  let best = '';
  for (const mount of module.mounts) if (path.startsWith(mount) && mount.length > best.length) best = mount;
  return path.slice(best.length);
}
