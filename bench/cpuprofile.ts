import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `node dist/bench/cpuprofile.js FILE.cpuprofile [--top N] [--filter TEXT] [--from S] [--to S]`: the
 * top functions of a `node --cpu-prof` profile by self time and by total time (a function's own
 * samples plus those of everything it called, each sample counted once per function however deep
 * the recursion), as shares of the busy samples (all but `(idle)`), within seconds S of the
 * profile's start if given, and the busy share of each 5 s of the profile (where the work was).
 * Functions are named `file:line function`, the file relative to dist/.
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  selfPct: number;
  totalPct: number;
}

function frameName(f: CallFrame): string {
  const file = f.url ? f.url.replace(/^file:\/\//, '').replace(/^.*\/dist\//, '').replace(/^.*\/node_modules\//, 'node_modules/') : '';
  const fn = f.functionName || '(anonymous)';
  return file ? `${file}:${f.lineNumber + 1} ${fn}` : fn;
}

/** The samples' times (ms from the profile's start). */
function sampleTimes(profile: CpuProfile): number[] {
  let t = 0;
  return profile.timeDeltas.map(d => (t += d / 1000));
}

/** Self and total shares of the busy samples per function name, in [fromMs, toMs) (pure). */
export function summarise(profile: CpuProfile, fromMs = 0, toMs = Infinity): FunctionTime[] {
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const times = sampleTimes(profile);
  const counts = new Map<number, number>();
  let busy = 0;
  profile.samples.forEach((s, i) => {
    if (times[i]! < fromMs || times[i]! >= toMs || byId.get(s)!.callFrame.functionName === '(idle)') return;
    counts.set(s, (counts.get(s) ?? 0) + 1);
    busy++;
  });
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [id, count] of counts) {
    const leaf = frameName(byId.get(id)!.callFrame);
    self.set(leaf, (self.get(leaf) ?? 0) + count);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = frameName(byId.get(at)!.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + count);
    }
  }
  const n = busy || 1;
  return [...total.keys()].map(name => ({ name, selfPct: (100 * (self.get(name) ?? 0)) / n, totalPct: (100 * total.get(name)!) / n }));
}

/** The busy share (%) of the samples of each 5 s of the profile. */
function busyPer5s(profile: CpuProfile): number[] {
  const idle = new Set(profile.nodes.filter(n => n.callFrame.functionName === '(idle)').map(n => n.id));
  const times = sampleTimes(profile);
  const busy: number[] = [];
  const all: number[] = [];
  profile.samples.forEach((s, i) => {
    const slot = Math.floor(times[i]! / 5000);
    all[slot] = (all[slot] ?? 0) + 1;
    busy[slot] = (busy[slot] ?? 0) + (idle.has(s) ? 0 : 1);
  });
  return [...all.keys()].map(i => Math.round((100 * (busy[i] ?? 0)) / (all[i] || 1)));
}

function main(argv: string[]): void {
  const file = argv.find(a => !a.startsWith('--'));
  if (!file) throw new Error('usage: cpuprofile FILE.cpuprofile [--top N] [--filter TEXT]');
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const top = Number(opt('--top') ?? 25);
  const filter = opt('--filter');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const fromMs = 1000 * Number(opt('--from') ?? 0);
  const toMs = 1000 * Number(opt('--to') ?? Infinity);
  const rows = summarise(profile, fromMs, toMs).filter(r => !filter || r.name.includes(filter));
  const line = (r: FunctionTime) => `${r.selfPct.toFixed(1).padStart(6)} ${r.totalPct.toFixed(1).padStart(6)}  ${r.name}`;
  process.stdout.write(`${path.basename(file)}: ${profile.samples.length} samples; busy share per 5 s: ${busyPer5s(profile).join(' ')}\n`);
  process.stdout.write(`by self time\n  self%  total%\n${[...rows].sort((a, b) => b.selfPct - a.selfPct).slice(0, top).map(line).join('\n')}\n`);
  process.stdout.write(`by total time\n  self%  total%\n${[...rows].sort((a, b) => b.totalPct - a.totalPct).slice(0, top).map(line).join('\n')}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
