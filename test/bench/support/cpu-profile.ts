import path from 'node:path';

/** The parts of V8's `.cpuprofile` (written by `node --cpu-prof`) this summary reads. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /** Self time by package (`fastify`, `@mediaferry/queue`, `node:internal/…`, `(garbage collector)`). */
  selfByPackage: ProfileRow[];
  /** Self time by function. */
  selfByFunction: ProfileRow[];
  /** Time with the function anywhere on the stack (each sample counted once per function). */
  inclusive: ProfileRow[];
}

/** `node_modules/.pnpm/x@1/node_modules/@scope/name/…` → `@scope/name`; workspace dist → `@mediaferry/x`. */
export function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const workspace = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (workspace) return `@mediaferry/${workspace[2]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const file = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
  const pkg = packageOf(frame.url, frame.functionName);
  return `${frame.functionName || '(anonymous)'} ${pkg}${file ? ` ${file}` : ''}`;
}

function top(map: Map<string, number>, busyMs: number, n: number): ProfileRow[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, share: busyMs > 0 ? us / 1000 / busyMs : 0 }));
}

/** Summarizes one profile: where the process spent its CPU. */
export function summarizeProfile(profile: CpuProfile, n = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfPkg = new Map<string, number>();
  const selfFn = new Map<string, number>();
  const incl = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  for (const [i, id] of profile.samples.entries()) {
    const dt = profile.timeDeltas[i + 1] ?? 0; // a sample's duration is the gap to the next one
    const node = byId.get(id);
    if (!node) continue;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)') {
      idleUs += dt;
      continue;
    }
    busyUs += dt;
    const pkg = packageOf(node.callFrame.url, fn);
    selfPkg.set(pkg, (selfPkg.get(pkg) ?? 0) + dt);
    const name = frameName(node.callFrame);
    selfFn.set(name, (selfFn.get(name) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (!frame || frame.functionName === '(root)') continue;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + dt);
    }
  }
  const busyMs = busyUs / 1000;
  return {
    busyMs,
    idleMs: idleUs / 1000,
    selfByPackage: top(selfPkg, busyMs, n),
    selfByFunction: top(selfFn, busyMs, n),
    inclusive: top(incl, busyMs, n * 2),
  };
}

/** A slice of the work, recognised by a frame on the stack. */
export interface Bucket {
  label: string;
  /** Matched against `functionName package file:line` of each frame. */
  match: RegExp;
  /**
   * `feature` buckets (what the code is for: "source check") win over `mechanism` buckets (how:
   * "ioredis", "GC") anywhere on the stack. @defaultValue 'feature'
   */
  kind?: 'feature' | 'mechanism';
}

/**
 * Splits busy time into `buckets`: each sample goes to the innermost feature bucket on its stack
 * (a source check inside the submit counts as "source check"), else to the innermost mechanism
 * bucket, else to `other`. Continuations after an `await` start a new stack, which is why the
 * mechanism buckets (reply parsing, timers, GC) exist.
 */
export function bucketTimes(profile: CpuProfile, buckets: readonly Bucket[], other = 'other'): ProfileRow[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const names = new Map(profile.nodes.map((node) => [node.id, frameName(node.callFrame)]));
  const innermost = (kind: 'feature' | 'mechanism') => {
    const memo = new Map<number, string | null>();
    const list = buckets.filter((b) => (b.kind ?? 'feature') === kind);
    const find = (id: number): string | null => {
      const known = memo.get(id);
      if (known !== undefined) return known;
      const name = names.get(id) ?? '';
      const hit = list.find((b) => b.match.test(name));
      const up = parent.get(id);
      const label = hit ? hit.label : up === undefined ? null : find(up);
      memo.set(id, label);
      return label;
    };
    return find;
  };
  const feature = innermost('feature');
  const mechanism = innermost('mechanism');
  const times = new Map<string, number>();
  let busyUs = 0;
  for (const [i, id] of profile.samples.entries()) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    busyUs += dt;
    const label = feature(id) ?? mechanism(id) ?? other;
    times.set(label, (times.get(label) ?? 0) + dt);
  }
  return top(times, busyUs / 1000, buckets.length + 1);
}

/** Human-readable tables of a summary (to stderr in the benches, so stdout ends with the figures). */
export function formatProfile(label: string, s: ProfileSummary): string {
  const rows = (title: string, list: ProfileRow[]) =>
    [
      `  ${title}`,
      ...list.map(
        (r) => `    ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`,
      ),
    ].join('\n');
  return [
    `── CPU profile ${label}: busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms`,
    rows('self time by package', s.selfByPackage),
    rows('self time by function', s.selfByFunction),
    rows('inclusive time (function anywhere on the stack)', s.inclusive),
  ].join('\n');
}
