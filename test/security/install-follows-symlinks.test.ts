/**
 * Attack (docs/security.md): whoever owns a destination directory (an app user) could redirect the root
 * agent. Replacing `dest/sub` with a symlink between two deployments made root create a file in
 * the symlink's target and report Succeeded, and the cleanup of the previous install deleted a
 * root-owned file through the symlinked parent. Run through `ferry-agent local`: the agent's own
 * install code, as root, with real bundles.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { deployLocal, eventOf } from '../helpers/agent-cli.js';
import { writeBundle } from '../helpers/bundle.js';
import { isRoot, tempDir } from '../helpers/temp.js';

const NOBODY = 65534;
/** Every scripts.log under the agent's root (where the install's notes go). */
const scriptLogs = async (root: string) => {
  const files = (await fs.readdir(root, { recursive: true })).filter(f => f.endsWith('scripts.log'));
  return (await Promise.all(files.map(f => fs.readFile(path.join(root, f), 'utf8')))).join('\n');
};
/** Runs a shell command as the app user (nobody), as an attacker on the host would. */
const asAppUser = (cmd: string) => execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'sh', '-c', cmd]);

t.test('(root) an app user who swaps a destination directory for a symlink cannot make the agent write or delete through it', { skip: !isRoot && 'needs root: the agent installs as root and the attacker is another user' }, async t => {
  const dir = await tempDir(t, 'ferry-symlink-');
  const root = path.join(dir, 'root');
  const dest = path.join(dir, 'app');
  const victim = path.join(dir, 'victim');
  await fs.mkdir(dest);
  await fs.chown(dest, NOBODY, NOBODY);
  await fs.mkdir(victim);
  const spec = { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }] };
  const v1 = await writeBundle(path.join(dir, 'v1'), { appspec: spec, files: { 'app/sub/a.conf': 'v1' } });
  const first = await deployLocal(root, v1);
  t.equal(first.code, 0, first.stderr);
  t.match(await scriptLogs(root), /warning: destination .*app: .*app is owned by uid 65534; whoever can write there can swap directories for symlinks/, 'the install warns that the app user can redirect it');

  // Between deployments the app user swaps dest/sub for a symlink to a root-owned directory.
  await fs.writeFile(path.join(victim, 'a.conf'), 'root\'s own file');
  asAppUser(`mv '${dest}/sub' '${dest}/sub.old' && ln -s '${victim}' '${dest}/sub'`);
  t.ok((await fs.lstat(path.join(dest, 'sub'))).isSymbolicLink());

  const v2 = await writeBundle(path.join(dir, 'v2'), { appspec: spec, files: { 'app/sub/a.conf': 'v2', 'app/sub/evil.conf': 'evil' } });
  const second = await deployLocal(root, v2);
  t.notOk(existsSync(path.join(victim, 'evil.conf')), 'root did not write through the symlink');
  t.equal(await fs.readFile(path.join(victim, 'a.conf'), 'utf8'), 'root\'s own file', 'the cleanup of the previous install did not delete through the symlinked parent');
  t.not(second.code, 0, 'the deployment does not succeed');
  t.equal(eventOf(second.json, 'Install')?.status, 'Failed', `Install fails: ${JSON.stringify(eventOf(second.json, 'Install'))}`);
  t.match(await scriptLogs(root), /is a symlink that a user other than root could have placed \(owner uid 65534\)/, 'the cleanup says which path it left alone and why');
});

t.test('(root) a symlink where the install creates a directory is refused, not followed (EEXIST on a non-directory)', { skip: !isRoot && 'needs root' }, async t => {
  const dir = await tempDir(t, 'ferry-symlink-');
  const dest = path.join(dir, 'app');
  const victim = path.join(dir, 'victim');
  await fs.mkdir(dest);
  await fs.chown(dest, NOBODY, NOBODY);
  await fs.mkdir(victim);
  asAppUser(`ln -s '${victim}' '${dest}/conf'`);
  const bundle = await writeBundle(path.join(dir, 'b'), { appspec: { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }] }, files: { 'app/conf/x.conf': 'x' } });
  const r = await deployLocal(path.join(dir, 'root'), bundle, ['--file-exists-behavior', 'OVERWRITE']);
  t.not(r.code, 0);
  t.notOk(existsSync(path.join(victim, 'x.conf')), 'nothing was written into the symlink\'s target');
  t.match(eventOf(r.json, 'Install')?.message ?? '', /conf (exists and is not a directory|is a symlink that a user other than root could have placed)/);
});
