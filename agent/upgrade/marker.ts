import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../state/files.js';

/**
 * The record of an agent upgrade in progress, `<root-dir>/agent-state/upgrade.json`: written by the
 * old agent before it swaps its binary, read by the watchdog (the old binary) that puts it back, and
 * removed by the new agent once it has registered with the coordinator (its confirmation).
 */
export interface UpgradeMarker {
  upgradeId: string;
  from: string;
  to: string;
  /** The binary replaced, and where the old one is kept (a hard link). */
  exe: string;
  previous: string;
  /** Wall clock (ms): the new agent must have registered by then. */
  deadlineMs: number;
  supervisor: 'systemd' | 'declared';
  /** systemd: the unit to restart after putting the old binary back. */
  unit?: string;
  /** The new agent's pid, written by it at start, for the watchdog to stop it. */
  pid?: number;
}

export function markerPath(root: string): string {
  return path.join(root, 'agent-state', 'upgrade.json');
}

export async function writeMarker(file: string, m: UpgradeMarker): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(m, null, 2)}\n`);
}

export function readMarker(file: string): UpgradeMarker | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as UpgradeMarker;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
