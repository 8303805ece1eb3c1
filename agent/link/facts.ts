import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

/** `NAME VERSION_ID` of os-release(5) (what systeminformation's osInfo reported as distro and release), else the platform. */
async function osName(): Promise<string> {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const field = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim().replace(/^(["'])(.*)\1$/, '$2') ?? '';
    const name = [field('NAME'), field('VERSION_ID')].filter(Boolean).join(' ');
    if (name) return name;
  }
  return process.platform;
}

/**
 * Samples the host's facts once, at start: the OS from os-release, the kernel, cpus and memory from
 * node:os, the disk holding the root dir from statfs(2). No package and no child process (the
 * health probes load systeminformation when an alarm needs it). What fails is left empty, with one warning.
 */
export async function sampleFacts(rootDir: string, log: Logger): Promise<Facts> {
  const real = await fs.realpath(rootDir).catch(() => path.resolve(rootDir));
  const facts: Facts = {
    ...EMPTY_FACTS, os: await osName(), kernel: os.release(), arch: os.arch(), cpus: os.cpus().length, memoryBytes: os.totalmem(),
  };
  try {
    const s = await fs.statfs(real);
    facts.diskTotalBytes = s.blocks * s.bsize;
    facts.diskFreeBytes = s.bavail * s.bsize;
  } catch (err) {
    log.warn('some host facts could not be read; they are reported empty', { reason: `disk: ${describeError(err)}` });
  }
  return facts;
}
