import { promises as fs } from 'node:fs';
import path from 'node:path';
import { compareText } from '../../common/text.js';

/**
 * Keeps the newest `keep` deployment directories of a group (the current one included) and
 * deletes older ones. Never deletes a protected directory (the current deployment, the one
 * the last-successful pointer names: its scripts run the next ApplicationStop).
 * Returns the directories removed.
 */
export async function pruneDeployments(
  groupDir: string,
  keep: number,
  protectedDirs: readonly string[],
): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(groupDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const keepSet = new Set(protectedDirs.map(d => path.resolve(d)));
  const dirs: { dir: string; mtimeMs: number }[] = [];
  for (const name of names) {
    const dir = path.resolve(groupDir, name);
    const st = await fs.lstat(dir).catch(() => undefined);
    if (st?.isDirectory()) dirs.push({ dir, mtimeMs: st.mtimeMs });
  }
  dirs.sort((a, b) => b.mtimeMs - a.mtimeMs || compareText(b.dir, a.dir));
  const survivors = new Set([...keepSet].filter(d => dirs.some(x => x.dir === d)));
  for (const { dir } of dirs) {
    if (survivors.size >= keep) break;
    survivors.add(dir);
  }
  const removed: string[] = [];
  for (const { dir } of dirs) {
    if (survivors.has(dir)) continue;
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
