/**
 * The data dir holds webhook secrets, token hashes, the CA key and the audit log (docs/security.md): it is
 * the coordinator's alone. Made 0700 at start, and what an earlier version left readable (ferry.db
 * and its -wal and -shm, logs, the first admin token) is made 0600. New files are 0600 already:
 * the coordinator runs with umask 077 (main.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

const PRIVATE_FILES = ['ferry.db', 'ferry.db-wal', 'ferry.db-shm', 'admin.token'];
const PRIVATE_DIRS = ['logs', 'revisions', 'incoming', 'tls'];

/** Creates the data dir 0700, or tightens it and its known contents; returns the paths whose mode it changed. */
export async function secureDataDir(dataDir: string): Promise<string[]> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const changed: string[] = [];
  const tighten = async (p: string, mode: number) => {
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st || st.isSymbolicLink() || (st.mode & 0o777 & ~mode) === 0) return;
    await fs.chmod(p, st.mode & mode & 0o7777);
    changed.push(p);
  };
  await tighten(dataDir, 0o700);
  for (const f of PRIVATE_FILES) await tighten(path.join(dataDir, f), 0o600);
  for (const d of PRIVATE_DIRS) {
    await tighten(path.join(dataDir, d), 0o700);
    if (d === 'logs') for (const f of await fs.readdir(path.join(dataDir, d)).catch(() => [])) await tighten(path.join(dataDir, d, f), 0o600);
  }
  return changed;
}
