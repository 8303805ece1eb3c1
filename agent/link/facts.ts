import { promises as fs } from 'node:fs';
import path from 'node:path';
import si from 'systeminformation';
import type { HostFacts__Output } from '../../proto/gen/ferry/v1/HostFacts.js';
import { describeError } from '../../common/errors.js';
import type { Logger } from '../log.js';

export type Facts = HostFacts__Output;

export const EMPTY_FACTS: Facts = Object.freeze({
  os: '', kernel: '', arch: '', cpus: 0, memoryBytes: 0, diskTotalBytes: 0, diskFreeBytes: 0,
});

/** The filesystem holding `dir`: the mount point that is the longest prefix of its real path. */
export function fsHolding<T extends { mount: string }>(mounts: readonly T[], dir: string): T | undefined {
  let best: T | undefined;
  for (const m of mounts) {
    const mount = m.mount.endsWith('/') && m.mount !== '/' ? m.mount.slice(0, -1) : m.mount;
    const inside = dir === mount || dir.startsWith(mount === '/' ? '/' : mount + '/');
    if (inside && (!best || mount.length > best.mount.length)) best = m;
  }
  return best;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Samples the host's facts once, at start (docs/design/stack.md §6: systeminformation spawns shell
 * processes; never on a request path). What fails is left empty, with one warning.
 */
export async function sampleFacts(rootDir: string, log: Logger, timeoutMs = 5000): Promise<Facts> {
  const real = await fs.realpath(rootDir).catch(() => path.resolve(rootDir));
  const [osInfo, cpu, mem, disks] = await Promise.allSettled([
    within(si.osInfo(), timeoutMs, 'osInfo'),
    within(si.cpu(), timeoutMs, 'cpu'),
    within(si.mem(), timeoutMs, 'mem'),
    within(si.fsSize(), timeoutMs, 'fsSize'),
  ]);
  const facts: Facts = { ...EMPTY_FACTS };
  const failed: string[] = [];
  if (osInfo.status === 'fulfilled') {
    const o = osInfo.value;
    facts.os = [o.distro || o.platform, o.release].filter(Boolean).join(' ');
    facts.kernel = o.kernel;
    facts.arch = o.arch;
  } else failed.push(`os: ${describeError(osInfo.reason)}`);
  if (cpu.status === 'fulfilled') facts.cpus = cpu.value.cores;
  else failed.push(`cpu: ${describeError(cpu.reason)}`);
  if (mem.status === 'fulfilled') facts.memoryBytes = mem.value.total;
  else failed.push(`memory: ${describeError(mem.reason)}`);
  const disk = disks.status === 'fulfilled' ? fsHolding(disks.value, real) : undefined;
  if (disk) {
    facts.diskTotalBytes = disk.size;
    facts.diskFreeBytes = disk.available;
  } else {
    failed.push(`disk: ${disks.status === 'rejected' ? describeError(disks.reason) : `no filesystem found for ${real}`}`);
  }
  if (failed.length > 0) log.warn('some host facts could not be read; they are reported empty', { reason: failed.join('; ') });
  return facts;
}
