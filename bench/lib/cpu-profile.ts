/**
 * A V8 CPU profile (`node --cpu-prof`, a .cpuprofile file) summarized: self time per function and
 * per area of the code (warmbox's folders, each npm package, Node's internals, the garbage
 * collector), and the call tree for a flame graph (bench/lib/flame-svg.ts).
 */
import { markdownTable } from './stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds between consecutive samples. */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FlameNode {
  name: string;
  /** Time in this node and below, ms. */
  totalMs: number;
  children: FlameNode[];
}

export interface ProfileSummary {
  /** Sampled time, ms, not counting (idle). */
  busyMs: number;
  idleMs: number;
  functions: { name: string; where: string; area: string; selfMs: number }[];
  areas: { area: string; selfMs: number }[];
  /** For the heaviest functions: the call stacks (innermost first, a few frames) their self time came from. */
  callers: { name: string; stacks: { stack: string; selfMs: number }[] }[];
  tree: FlameNode;
}

const CALLER_FUNCTIONS = 12;
const CALLER_STACKS = 3;
const CALLER_DEPTH = 6;

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const functions = new Map<string, { name: string; where: string; area: string; selfMs: number }>();
  const areas = new Map<string, number>();
  let idleMs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const ms = us / 1000;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const where = location(frame);
    const key = `${frame.functionName} ${where}`;
    const f = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, area: areaOf(frame), selfMs: 0 };
    f.selfMs += ms;
    functions.set(key, f);
    areas.set(f.area, (areas.get(f.area) ?? 0) + ms);
  }
  const busyMs = [...areas.values()].reduce((a, b) => a + b, 0);
  const sortedFunctions = [...functions.values()].sort((a, b) => b.selfMs - a.selfMs);
  return {
    busyMs,
    idleMs,
    functions: sortedFunctions,
    callers: callersOf(sortedFunctions.slice(0, CALLER_FUNCTIONS), profile, byId, selfUs),
    areas: [...areas.entries()].map(([area, selfMs]) => ({ area, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
    tree: flameTree(profile.nodes[0]!, byId, selfUs),
  };
}

/** The top functions and areas as Markdown, each with its share of the busy (non-idle) time. */
export function profileMarkdown(s: ProfileSummary, top = 40): string {
  const share = (ms: number) => `${((ms / s.busyMs) * 100).toFixed(1)}%`;
  return [
    `Sampled busy time ${s.busyMs.toFixed(0)} ms (idle ${s.idleMs.toFixed(0)} ms not counted).`,
    '',
    '### Self time by area',
    '',
    markdownTable(['area', 'self ms', 'share'], s.areas.map((a) => [a.area, a.selfMs.toFixed(1), share(a.selfMs)])),
    '',
    `### Top ${top} functions by self time`,
    '',
    markdownTable(['function', 'where', 'self ms', 'share'], s.functions.slice(0, top).map((f) => [f.name, f.where, f.selfMs.toFixed(1), share(f.selfMs)])),
    '',
    '### Where the heaviest functions were called from (innermost caller first)',
    '',
    ...s.callers.flatMap((c) => [`- **${c.name}**`, ...c.stacks.map((st) => `  - ${st.selfMs.toFixed(1)} ms: ${st.stack}`)]),
  ].join('\n');
}

function callersOf(top: { name: string; where: string }[], profile: CpuProfile, byId: Map<number, ProfileNode>, selfUs: Map<number, number>): ProfileSummary['callers'] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frameName = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}${n.callFrame.url ? ` ${location(n.callFrame)}` : ''}`;
  return top.map((f) => {
    const stacks = new Map<string, number>();
    for (const [id, us] of selfUs) {
      const node = byId.get(id)!;
      if ((node.callFrame.functionName || '(anonymous)') !== f.name || location(node.callFrame) !== f.where) continue;
      const frames: string[] = [];
      for (let p = parent.get(id); p !== undefined && frames.length < CALLER_DEPTH; p = parent.get(p)) frames.push(frameName(byId.get(p)!));
      const key = frames.join(' ← ');
      stacks.set(key, (stacks.get(key) ?? 0) + us / 1000);
    }
    const sorted = [...stacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, CALLER_STACKS);
    return { name: `${f.name}${f.where ? ` ${f.where}` : ''}`, stacks: sorted.map(([stack, selfMs]) => ({ stack, selfMs })) };
  });
}

function flameTree(node: ProfileNode, byId: Map<number, ProfileNode>, selfUs: Map<number, number>): FlameNode {
  const children = (node.children ?? []).map((c) => flameTree(byId.get(c)!, byId, selfUs)).filter((c) => c.totalMs > 0 && c.name !== '(idle)');
  const totalMs = (node.callFrame.functionName === '(idle)' ? 0 : (selfUs.get(node.id) ?? 0) / 1000) + children.reduce((a, c) => a + c.totalMs, 0);
  return { name: `${node.callFrame.functionName || '(anonymous)'} ${location(node.callFrame)}`.trim(), totalMs, children };
}

/** file:line, the file relative to the package or node_modules, or Node's internal module name. */
function location(frame: ProfileNode['callFrame']): string {
  if (frame.url === '') return '';
  const url = frame.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('/node_modules/');
  const dist = url.lastIndexOf('/dist/');
  const file = nm >= 0 ? url.slice(nm + 14) : dist >= 0 ? url.slice(dist + 6) : url;
  return `${file}:${frame.lineNumber + 1}`;
}

/** warmbox's top-level folder, the npm package, `node` (its internals), or V8's own entries ((garbage collector), (program)). */
function areaOf(frame: ProfileNode['callFrame']): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : 'native';
  if (url.startsWith('node:')) return 'node';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return `npm ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = url.lastIndexOf('/dist/');
  return dist >= 0 ? `warmbox ${url.slice(dist + 6).split('/')[0]}/` : 'other';
}
