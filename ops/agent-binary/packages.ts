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

/**
 * `out`, rebuilt unless its `.key` stamp matches. Built in a directory of its own, then renamed into
 * place: builds running at once (test files) never see half a package.
 */
async function cached(out: string, key: string, build: (outDir: string) => Promise<string>): Promise<string> {
  const stamp = `${out}.key`;
  const had = await fs.readFile(stamp, 'utf8').catch(() => '');
  if (had === key && (await fs.stat(out).catch(() => undefined))) return out;
  const work = await fs.mkdtemp(path.join(path.dirname(out), '.pkg-'));
  try {
    const built = await build(work);
    await fs.rename(built, out);
    await fs.writeFile(path.join(work, 'key'), key);
    await fs.rename(path.join(work, 'key'), stamp);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  return out;
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex');

/** `binarySha256` stands for the binary's bytes in the cache keys. */
export async function buildPackages(input: PackageInput, binarySha256: string): Promise<Packages> {
  await fs.mkdir(input.outDir, { recursive: true });
  const common = [binarySha256, input.version, input.arch, packageUnit(), packageConfig()];
  const deb = await cached(path.join(input.outDir, debName(input)),
    hash(...common, debControl(input, 0), debScript('postinst'), debScript('prerm'), debScript('postrm')), outDir => buildDeb({ ...input, outDir }));
  if (!rpmAvailable()) return { deb, rpmMissing: 'rpmbuild is not installed (Debian: apt-get install rpm)' };
  const rpm = await cached(path.join(input.outDir, rpmName(input)), hash(...common, rpmSpec(input, '')), outDir => buildRpm({ ...input, outDir }));
  return { deb, rpm };
}
