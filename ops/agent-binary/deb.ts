import { spawnSync } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ARCHES, BINARY_PATH, CONFIG_PATH, DEB_DEPENDS, DESCRIPTION, LONG_DESCRIPTION, UNIT_PATHS, debScript, packageConfig, packageUnit } from './package.js';

/**
 * The ferry-agent .deb, built with dpkg-deb (Debian's own tool, apt package `dpkg`): a staging tree
 * with DEBIAN/{control,conffiles,postinst,prerm,postrm}, files owned by root (--root-owner-group).
 */

export interface PackageInput {
  binary: string;
  version: string;
  /** Node's arch name (x64, arm64). */
  arch: string;
  outDir: string;
}

export function debControl(input: PackageInput, installedKiB: number): string {
  return [
    'Package: ferry-agent',
    `Version: ${input.version}`,
    `Architecture: ${ARCHES[input.arch]!.deb}`,
    'Maintainer: Ferry maintainers <ferry@localhost>',
    `Installed-Size: ${installedKiB}`,
    `Depends: ${DEB_DEPENDS}`,
    'Section: admin',
    'Priority: optional',
    `Description: ${DESCRIPTION}`,
    ...LONG_DESCRIPTION.map(l => ` ${l}`),
    '',
  ].join('\n');
}

/** The package's files under `stage`: the binary hard-linked (same file system) or copied, the unit, the config. */
export async function stageFiles(stage: string, binary: string, unitPath: string): Promise<void> {
  const put = async (p: string, content: string, mode: number) => {
    const to = path.join(stage, p);
    await fs.mkdir(path.dirname(to), { recursive: true });
    await fs.writeFile(to, content, { mode });
    await fs.chmod(to, mode);
  };
  const bin = path.join(stage, BINARY_PATH);
  await fs.mkdir(path.dirname(bin), { recursive: true });
  // A copy, not a hard link: tar fails ("file changed as we read it") when another link to the inode is made or removed meanwhile.
  await fs.copyFile(binary, bin, fsConstants.COPYFILE_FICLONE);
  await fs.chmod(bin, 0o755);
  await put(unitPath, packageUnit(), 0o644);
  await put(CONFIG_PATH, packageConfig(), 0o600);
}

export function debName(input: PackageInput): string {
  return `ferry-agent_${input.version}_${ARCHES[input.arch]!.deb}.deb`;
}

export async function buildDeb(input: PackageInput): Promise<string> {
  const stage = await fs.mkdtemp(path.join(input.outDir, '.deb-'));
  try {
    await fs.chmod(stage, 0o755); // the package's ./ entry
    await stageFiles(stage, input.binary, UNIT_PATHS.deb);
    const debian = path.join(stage, 'DEBIAN');
    await fs.mkdir(debian, { mode: 0o755 });
    const size = (await fs.stat(input.binary)).size;
    await fs.writeFile(path.join(debian, 'control'), debControl(input, Math.ceil(size / 1024) + 8));
    await fs.writeFile(path.join(debian, 'conffiles'), `${CONFIG_PATH}\n`);
    for (const name of ['postinst', 'prerm', 'postrm'] as const) {
      await fs.writeFile(path.join(debian, name), debScript(name), { mode: 0o755 });
      await fs.chmod(path.join(debian, name), 0o755);
    }
    const out = path.join(input.outDir, debName(input));
    // gzip: every dpkg reads it (zstd only from dpkg 1.21.18), and it is quick on the 85 MB binary.
    const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', stage, out], { encoding: 'utf8' });
    if (r.error) throw new Error(`dpkg-deb: ${r.error.message} (apt-get install dpkg)`);
    if (r.status !== 0) throw new Error(`dpkg-deb --build failed: ${r.stderr.trim()}`);
    return out;
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
  }
}
