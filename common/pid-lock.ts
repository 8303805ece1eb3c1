import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FerryError } from './errors.js';

/**
 * A lock file holding its owner's pid; a lock whose owner is dead is taken over. The agent's
 * per-host lock (one host deployment at a time per root dir, so two deployments never interleave
 * on the same files: CodeDeploy's agent has no such lock, docs/design/codedeploy.md §10.4) and the
 * coordinator's data-dir lock (one coordinator per data dir) are both this.
 */
export interface LockHolder {
  pid: number;
  deploymentId?: string;
  since: string;
}

export interface HostLock {
  readonly file: string;
  release(): Promise<void>;
}

export interface AcquireOptions {
  wait: boolean;
  deploymentId?: string;
  pollMs?: number;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
  /** The LOCKED message when the lock is held and `wait` is false (default: the agent's per-host wording). */
  busy?: (holder: LockHolder, file: string) => string;
  signal?: AbortSignal;
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
  } catch {
    return undefined; // absent, or being written this instant: treated as held until it ages
  }
}

async function tryCreate(file: string, holder: LockHolder): Promise<boolean> {
  try {
    const fh = await fs.open(file, 'wx', 0o644);
    try {
      await fh.writeFile(JSON.stringify(holder));
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes a lock whose owner is gone; renaming first makes two removers race safely. */
async function breakIfStale(file: string, holder: LockHolder | undefined): Promise<void> {
  if (holder && isAlive(holder.pid)) return;
  if (!holder) {
    const st = await fs.stat(file).catch(() => undefined);
    if (!st || Date.now() - st.mtimeMs < 5000) return;
  }
  const grave = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    await fs.rename(file, grave);
    await fs.rm(grave, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export async function acquireHostLock(file: string, opts: AcquireOptions): Promise<HostLock> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, since: new Date().toISOString() };
  if (opts.deploymentId) me.deploymentId = opts.deploymentId;
  let announced = false;
  for (;;) {
    if (await tryCreate(file, me)) {
      return { file, release: () => fs.rm(file, { force: true }) };
    }
    const holder = await readHolder(file);
    await breakIfStale(file, holder);
    if (!holder && !opts.wait && (await fs.stat(file).catch(() => undefined))) {
      throw new FerryError('LOCKED', `another deployment is starting on this host (lock file ${file} is being written)`);
    }
    if (holder && isAlive(holder.pid)) {
      if (!opts.wait) {
        throw new FerryError('LOCKED', opts.busy?.(holder, file) ??
          `another deployment is running on this host (pid ${holder.pid}` +
            `${holder.deploymentId ? `, ${holder.deploymentId}` : ''}, since ${holder.since}); ` +
            `lock file ${file}`);
      }
      if (!announced) {
        opts.onWait?.(holder);
        announced = true;
      }
    }
    if (opts.signal?.aborted) throw new FerryError('LOCKED', `gave up waiting for ${file}`);
    await new Promise(r => setTimeout(r, opts.pollMs ?? 200));
  }
}
