import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'postject';

/**
 * The agent bundle made into one executable: a Node single executable application (SEA). Node
 * writes the bundle into a preparation blob (`node --experimental-sea-config`); postject injects
 * it into a copy of a node binary, which then runs the bundle instead of its command line.
 * The result is cached under `cacheDir/<key>/`, keyed by a hash of every input, so a test run or
 * a second `npm run build:agent` with nothing changed takes no time.
 */

/** The fuse Node's SEA looks for (Node's documentation: "Single executable applications"). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Bump when what this file does changes, so old cache entries stop matching. */
const RECIPE = 'sea-1: strip, code cache, no warning';

export interface SeaInput {
  /** The bundle (bundle.ts). */
  code: string;
  /** The node binary to wrap: its architecture is the binary's. */
  nodeBinary: string;
  cacheDir: string;
  /** Progress lines. */
  say?: (line: string) => void;
}

export interface SeaBinary {
  file: string;
  key: string;
  cached: boolean;
  stripped: boolean;
}

/** What the binary depends on: the bundle, the node binary (by path, size, time, version) and this recipe. */
export function seaKey(code: string, nodeBinary: string): string {
  const st = statSync(nodeBinary);
  const version = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return createHash('sha256').update(RECIPE).update('\0').update(`${nodeBinary} ${st.size} ${st.mtimeMs} ${version}`).update('\0').update(code).digest('hex').slice(0, 16);
}

function run(argv: string[], cwd: string): { ok: boolean; output: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { ok: r.status === 0, output: `${r.error?.message ?? ''}${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

export async function buildSea(input: SeaInput): Promise<SeaBinary> {
  const say = input.say ?? (() => undefined);
  const key = seaKey(input.code, input.nodeBinary);
  const dir = path.join(input.cacheDir, key);
  const file = path.join(dir, 'ferry-agent');
  if (await isFile(file)) return { file, key, cached: true, stripped: readFileSync(path.join(dir, 'stripped'), 'utf8') === 'yes' };
  // Built beside, then renamed into place: a concurrent build or a crash never leaves half a binary under the key.
  const work = await fs.mkdtemp(path.join(input.cacheDir, `.build-${key}-`));
  try {
    await fs.writeFile(path.join(work, 'agent.cjs'), input.code);
    await fs.writeFile(path.join(work, 'sea-config.json'), JSON.stringify({
      main: 'agent.cjs', output: 'sea.blob', disableExperimentalSEAWarning: true, useCodeCache: true, useSnapshot: false,
    }));
    say(`sea: preparation blob (${input.nodeBinary} --experimental-sea-config)`);
    const blob = run([input.nodeBinary, '--experimental-sea-config', 'sea-config.json'], work);
    if (!blob.ok) throw new Error(`${input.nodeBinary} --experimental-sea-config failed (Node ≥ 20.12 is needed): ${blob.output}`);
    const exe = path.join(work, 'ferry-agent');
    await fs.copyFile(input.nodeBinary, exe);
    await fs.chmod(exe, 0o755);
    // Node's symbols are 12 MB of the binary; strip (binutils) drops them. Without it the binary still works.
    const strip = run(['strip', exe], work);
    if (!strip.ok) say(`sea: not stripped (${strip.output || 'strip failed'}): install binutils for a binary 12 MB smaller`);
    say('sea: injecting the blob (postject)');
    await inject(exe, 'NODE_SEA_BLOB', await fs.readFile(path.join(work, 'sea.blob')), { sentinelFuse: SEA_FUSE });
    await fs.writeFile(path.join(work, 'stripped'), strip.ok ? 'yes' : 'no');
    try {
      await fs.rename(work, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err; // another build of the same key won: use it
    }
    return { file, key, cached: false, stripped: strip.ok };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Removes cache entries other than `keep` (and stale half-builds). */
export async function pruneCache(cacheDir: string, keep: string): Promise<void> {
  for (const name of await fs.readdir(cacheDir).catch(() => [] as string[])) {
    if (name !== keep && !name.startsWith('.build-')) await fs.rm(path.join(cacheDir, name), { recursive: true, force: true });
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}
