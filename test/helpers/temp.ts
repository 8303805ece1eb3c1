import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A fresh temp dir (mode 0755 so `runas` users can read it), removed when the test ends. */
export async function tempDir(t: Teardown, prefix = 'ferry-test-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
