/** Summarising a V8 `.cpuprofile` (from `node --cpu-prof`): self time by package and by function. */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
export interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** `node_modules/<pkg>` -> pkg, project files -> `project:<rel>`, node internals -> `node:internal`. */
export function groupOfUrl(url: string, functionName: string, projectRoot: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  let file = url;
  if (url.startsWith('file://')) {
    try { file = fileURLToPath(url); } catch { return url; }
  }
  const marker = `${path.sep}node_modules${path.sep}`;
  const nm = file.lastIndexOf(marker);
  if (nm >= 0) {
    const parts = file.slice(nm + marker.length).split(path.sep);
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (!path.isAbsolute(file)) return 'node:internal';
  const rel = path.relative(projectRoot, file);
  return rel.startsWith('..') ? file : `project:${rel}`;
}

export interface CpuSummary {
  readonly total_ms: number;
  readonly by_group: { group: string; self_ms: number; pct: number }[];
  readonly top_functions: { fn: string; where: string; self_ms: number }[];
}

export function summarizeCpuProfile(p: CpuProfile, projectRoot: string, top = 12): CpuSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  if (p.samples && p.timeDeltas && p.samples.length === p.timeDeltas.length) {
    // timeDeltas[i] is the time before sample i; attribute the interval after sample i to it.
    for (let i = 0; i < p.samples.length; i++) {
      const dt = p.timeDeltas[i + 1] ?? 0;
      selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + Math.max(0, dt));
    }
  } else {
    const total = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    for (const n of p.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) / total) * (p.endTime - p.startTime));
  }
  const totalUs = p.endTime - p.startTime;
  const groups = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const g = groupOfUrl(n.callFrame.url, n.callFrame.functionName, projectRoot);
    groups.set(g, (groups.get(g) ?? 0) + us);
    const where = n.callFrame.url ? `${g}:${n.callFrame.lineNumber + 1}` : g;
    const key = `${n.callFrame.functionName}@${where}`;
    const e = fns.get(key) ?? { fn: n.callFrame.functionName || '(anonymous)', where, us: 0 };
    e.us += us;
    fns.set(key, e);
  }
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    total_ms: ms(totalUs),
    by_group: [...groups].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([group, us]) => ({ group, self_ms: ms(us), pct: Math.round((us / totalUs) * 1000) / 10 })),
    top_functions: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, top)
      .map((f) => ({ fn: f.fn, where: f.where, self_ms: ms(f.us) })),
  };
}
