// Reads a V8 .cpuprofile (node --cpu-prof) and ranks functions by self time, plus a coarse
// split by where the code lives (proxy-proxy, its logging, undici, Node's http, GC…).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  /** share of the non-idle time */
  pct: number;
}

/** A URL made short and machine-independent: package or project-relative path. */
export function shortWhere(url: string, line: number): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  let p = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url;
  const dist = p.lastIndexOf('/dist/');
  if (nm < 0 && dist >= 0) p = p.slice(dist + 1);
  return `${p.replace(/^file:\/\//, '')}:${line + 1}`;
}

export function area(name: string, url: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8/native (program)';
  if (url.includes('node_modules/undici/')) return 'undici';
  if (url.includes('/dist/src/ops/logger.js')) return 'logging';
  if (url.includes('node_modules/')) return 'other packages';
  if (url.includes('/dist/src/')) return 'proxy-proxy';
  if (/^node:(internal\/)?(_http|http|net|stream|internal\/streams|internal\/http)/.test(url) || url.startsWith('node:internal/http')) return 'node http/net/streams';
  if (url.startsWith('node:')) return 'node core (other)';
  return 'native/builtins';
}

export function summarize(file: string, top = 15): { functions: SelfTime[]; areas: { area: string; ms: number; pct: number }[]; totalMs: number; idleMs: number } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, ProfileNode>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  const selfById = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to that sample's node.
  prof.samples.forEach((id, i) => selfById.set(id, (selfById.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));

  const fn = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfById) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    total += us;
    const a = area(name, url);
    if (a === 'idle') {
      idle += us;
      continue;
    }
    areas.set(a, (areas.get(a) ?? 0) + us);
    // Native functions (socket writes, string encoding) have no URL: name their JS caller.
    const caller = parentOf.get(id)?.callFrame;
    const where = url || !caller || name.startsWith('(') ? shortWhere(url, lineNumber) : `called by ${caller.functionName || '(anonymous)'} ${shortWhere(caller.url, caller.lineNumber)}`;
    const key = `${name}@${where}`;
    const e = fn.get(key) ?? { name, where, us: 0 };
    e.us += us;
    fn.set(key, e);
  }
  const busy = total - idle || 1;
  return {
    functions: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, pct: (100 * e.us) / busy })),
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([a, us]) => ({ area: a, ms: us / 1000, pct: (100 * us) / busy })),
    totalMs: total / 1000,
    idleMs: idle / 1000,
  };
}
