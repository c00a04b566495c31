/** Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by origin. */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  byOrigin: Array<{ origin: string; ms: number; percent: number }>;
  topFunctions: Array<{ fn: string; ms: number; percent: number }>;
}

/** Where a frame's code comes from: the workflow bundle, a package, Node itself, or V8/GC. */
function originOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'gc';
    if (functionName === '(idle)' || functionName === '(program)') return functionName;
    return 'native';
  }
  if (/workflow-bundle|webpack/.test(url)) return 'workflow bundle (sandbox)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/src/')) return 'leadcycle src (outside the sandbox)';
  return url;
}

export async function summariseProfile(file: string, top = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byFn = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const origin = originOf(url, functionName);
    if (origin === '(idle)') continue;
    busyUs += us;
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
    const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, us]) => ({ k, ms: us / 1000, percent: (us / busyUs) * 100 }));
  return {
    file,
    totalMs: busyUs / 1000,
    byOrigin: rank(byOrigin).map(({ k, ms, percent }) => ({ origin: k, ms, percent })),
    topFunctions: rank(byFn)
      .slice(0, top)
      .map(({ k, ms, percent }) => ({ fn: k, ms, percent })),
  };
}
