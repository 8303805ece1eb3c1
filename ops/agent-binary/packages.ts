import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type PackageInput, buildDeb, debControl, debName } from './deb.js';
import { debScript, packageConfig, packageUnit } from './package.js';
import { buildRpm, rpmAvailable, rpmName, rpmSpec } from './rpm.js';

/**
 * The .deb (always: dpkg-deb is part of dpkg) and the .rpm (when rpmbuild is installed) of one
 * agent binary. Each is rebuilt only when its inputs changed (a `.key` file beside it holds their hash).
 */
export interface Packages {
  deb: string;
  /** Absent when rpmbuild is not installed (`rpmMissing` says so). */
  rpm?: string;
  rpmMissing?: string;
}

async function cached(out: string, key: string, build: () => Promise<string>): Promise<string> {
  const stamp = `${out}.key`;
  const had = await fs.readFile(stamp, 'utf8').catch(() => '');
  if (had === key && (await fs.stat(out).catch(() => undefined))) return out;
  await fs.rm(stamp, { force: true });
  const built = await build();
  await fs.writeFile(stamp, key);
  return built;
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex');

/** `binarySha256` stands for the binary's bytes in the cache keys. */
export async function buildPackages(input: PackageInput, binarySha256: string): Promise<Packages> {
  await fs.mkdir(input.outDir, { recursive: true });
  const common = [binarySha256, input.version, input.arch, packageUnit(), packageConfig()];
  const deb = await cached(path.join(input.outDir, debName(input)),
    hash(...common, debControl(input, 0), debScript('postinst'), debScript('prerm'), debScript('postrm')), () => buildDeb(input));
  if (!rpmAvailable()) return { deb, rpmMissing: 'rpmbuild is not installed (Debian: apt-get install rpm)' };
  const rpm = await cached(path.join(input.outDir, rpmName(input)), hash(...common, rpmSpec(input, '')), () => buildRpm(input));
  return { deb, rpm };
}
