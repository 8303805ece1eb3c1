import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type PackageInput, stageFiles } from './deb.js';
import { ARCHES, BINARY_PATH, CONFIG_PATH, DESCRIPTION, LONG_DESCRIPTION, RPM_REQUIRES, UNIT_PATHS, rpmScript } from './package.js';

/**
 * The ferry-agent .rpm, built with rpmbuild where it exists (Debian's apt package `rpm` brings it).
 * The same files and scripts as the .deb; the config is %config(noreplace): kept on upgrade.
 */

export function rpmAvailable(): boolean {
  return spawnSync('rpmbuild', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function rpmName(input: PackageInput): string {
  return `ferry-agent-${input.version}-1.${ARCHES[input.arch]!.rpm}.rpm`;
}

export function rpmSpec(input: PackageInput, stage: string): string {
  return [
    // The binary is a Node single executable: stripping it or splitting debug info would cut the injected agent out.
    '%define debug_package %{nil}',
    '%define __os_install_post %{nil}',
    '%define _build_id_links none',
    '%define _binary_payload w6.gzdio',
    'Name: ferry-agent',
    `Version: ${input.version.replace(/-/g, '~')}`,
    'Release: 1',
    `Summary: ${DESCRIPTION}`,
    'License: Apache-2.0',
    'AutoReqProv: no',
    ...RPM_REQUIRES.map(r => `Requires: ${r}`),
    '',
    '%description',
    ...LONG_DESCRIPTION,
    '',
    '%install',
    'mkdir -p %{buildroot}',
    `cp -a ${stage}/. %{buildroot}/`,
    '',
    '%files',
    `%attr(0755,root,root) ${BINARY_PATH}`,
    `%attr(0644,root,root) ${UNIT_PATHS.rpm}`,
    `%dir %attr(0755,root,root) ${path.posix.dirname(CONFIG_PATH)}`,
    `%config(noreplace) %attr(0600,root,root) ${CONFIG_PATH}`,
    '',
    '%post', rpmScript('postinst'),
    '%preun', rpmScript('prerm'),
    '%postun', rpmScript('postrm'),
  ].join('\n');
}

export async function buildRpm(input: PackageInput): Promise<string> {
  const top = await fs.mkdtemp(path.join(input.outDir, '.rpm-'));
  try {
    const stage = path.join(top, 'stage');
    await stageFiles(stage, input.binary, UNIT_PATHS.rpm);
    const spec = path.join(top, 'ferry-agent.spec');
    await fs.writeFile(spec, rpmSpec(input, stage));
    const r = spawnSync('rpmbuild', ['-bb', '--quiet', '--target', ARCHES[input.arch]!.rpm, '--define', `_topdir ${top}/build`, spec], { encoding: 'utf8' });
    if (r.error) throw new Error(`rpmbuild: ${r.error.message} (apt-get install rpm)`);
    if (r.status !== 0) throw new Error(`rpmbuild -bb failed: ${r.stderr.trim()}`);
    const built = path.join(top, 'build', 'RPMS', ARCHES[input.arch]!.rpm, rpmName(input));
    const out = path.join(input.outDir, rpmName(input));
    await fs.rename(built, out);
    return out;
  } finally {
    await fs.rm(top, { recursive: true, force: true });
  }
}
