import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { deployLocal, eventOf } from '../helpers/agent-cli.js';
import { writeBundle } from '../helpers/bundle.js';
import { isRoot, tempDir } from '../helpers/temp.js';

t.test('files: directory contents, single files, nested dirs, symlinks, modes and mtimes', async t => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'www');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: {
      version: 0.0, os: 'linux',
      files: [
        { source: 'site', destination: path.join(dest, 'html') },
        { source: 'config/app.conf', destination: path.join(dest, 'etc', 'deep') },
      ],
    },
    files: {
      'site/index.html': 'hi',
      'site/assets/app.js': 'js',
      'site/bin/run': { content: '#!/bin/sh\n', mode: 0o755 },
      'config/app.conf': 'k=v',
    },
  });
  await fs.symlink('index.html', path.join(bundle, 'site', 'home.html'));
  const old = new Date('2020-01-02T03:04:05Z');
  await fs.utimes(path.join(bundle, 'site', 'index.html'), old, old);

  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stderr);
  t.equal(await fs.readFile(path.join(dest, 'html', 'index.html'), 'utf8'), 'hi');
  t.equal(await fs.readFile(path.join(dest, 'html', 'assets', 'app.js'), 'utf8'), 'js');
  t.equal(await fs.readFile(path.join(dest, 'etc', 'deep', 'app.conf'), 'utf8'), 'k=v', 'a file source lands in destination/ by name');
  t.notOk(await fs.stat(path.join(dest, 'html', 'site')).catch(() => undefined), 'the source directory itself is not copied');
  t.equal((await fs.stat(path.join(dest, 'html', 'bin', 'run'))).mode & 0o777, 0o755);
  t.equal(await fs.readlink(path.join(dest, 'html', 'home.html')), 'index.html', 'symlinks stay symlinks');
  t.equal((await fs.stat(path.join(dest, 'html', 'index.html'))).mtime.getTime(), old.getTime());

  const root = path.join(dir, 'root', 'deployment-instructions');
  const cleanup = (await fs.readFile(path.join(root, 'default-local-deployment-group-cleanup'), 'utf8')).trim().split('\n');
  t.ok(cleanup.includes(path.join(dest, 'html', 'index.html')));
  t.ok(cleanup.includes(dest), 'missing parents created by the install are recorded');
  const installJson = JSON.parse(await fs.readFile(path.join(root, 'default-local-deployment-group-install.json'), 'utf8'));
  t.ok(installJson.instructions.some((i: any) => i.type === 'copy' && i.destination === path.join(dest, 'etc', 'deep', 'app.conf')));
  const pointer = (await fs.readFile(path.join(root, 'default-local-deployment-group_last_successful_install'), 'utf8')).trim();
  t.equal(pointer, path.join(dir, 'root', 'default-local-deployment-group', r.json.deploymentId));
  t.equal((await fs.readFile(path.join(root, 'default-local-deployment-group_most_recent_install'), 'utf8')).trim(), pointer);
});

t.test('a redeploy removes what the previous install created, keeping foreign files and non-empty dirs', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const dest = path.join(dir, 'www');
  const spec = { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }] };
  const v1 = await writeBundle(path.join(dir, 'v1'), { appspec: spec, files: { 'app/a.txt': '1', 'app/old/only-v1.txt': '1', 'app/keep/x.txt': '1' } });
  const v2 = await writeBundle(path.join(dir, 'v2'), { appspec: spec, files: { 'app/a.txt': '2' } });
  t.equal((await deployLocal(root, v1)).code, 0);
  await fs.writeFile(path.join(dest, 'keep', 'foreign.txt'), 'mine');
  const r = await deployLocal(root, v2);
  t.equal(r.code, 0, r.stderr);
  t.equal(await fs.readFile(path.join(dest, 'a.txt'), 'utf8'), '2');
  t.notOk(await fs.stat(path.join(dest, 'old')).catch(() => undefined), 'v1-only files and emptied dirs are gone');
  t.equal(await fs.readFile(path.join(dest, 'keep', 'foreign.txt'), 'utf8'), 'mine', 'files the group did not install stay');
  t.notOk(await fs.stat(path.join(dest, 'keep', 'x.txt')).catch(() => undefined));
});

t.test('file_exists_behavior: DISALLOW fails naming the file, OVERWRITE replaces, RETAIN keeps; the appspec beats the flag', async t => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'www');
  await fs.mkdir(dest, { recursive: true });
  const foreign = path.join(dest, 'index.html');
  const reset = () => fs.writeFile(foreign, 'foreign');
  const bundle = (name: string, behavior?: string) => writeBundle(path.join(dir, name), {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'site', destination: dest }], ...(behavior && { file_exists_behavior: behavior }) },
    files: { 'site/index.html': 'from revision' },
  });
  const plain = await bundle('plain');
  let n = 0;
  const deploy = (b: string, extra: string[] = []) => deployLocal(path.join(dir, `root${n++}`), b, extra);

  await reset();
  const disallowed = await deploy(plain);
  t.equal(disallowed.code, 1);
  t.equal(eventOf(disallowed.json, 'Install').errorCode, 'InstallFailed');
  t.match(eventOf(disallowed.json, 'Install').message, `already exists at this location: ${foreign}`);
  t.equal(await fs.readFile(foreign, 'utf8'), 'foreign');

  await reset();
  t.equal((await deploy(plain, ['--file-exists-behavior', 'OVERWRITE'])).code, 0);
  t.equal(await fs.readFile(foreign, 'utf8'), 'from revision');

  await reset();
  t.equal((await deploy(plain, ['--file-exists-behavior', 'RETAIN'])).code, 0);
  t.equal(await fs.readFile(foreign, 'utf8'), 'foreign');

  await reset();
  t.equal((await deploy(await bundle('spec-overwrite', 'OVERWRITE'), ['--file-exists-behavior', 'DISALLOW'])).code, 0);
  t.equal(await fs.readFile(foreign, 'utf8'), 'from revision', 'appspec OVERWRITE beats flag DISALLOW');

  await reset();
  const specDisallow = await deploy(await bundle('spec-disallow', 'DISALLOW'), ['--file-exists-behavior', 'OVERWRITE']);
  t.equal(specDisallow.code, 1, 'appspec DISALLOW beats flag OVERWRITE');
  t.equal(await fs.readFile(foreign, 'utf8'), 'foreign');

  await reset();
  t.equal((await deploy(await bundle('spec-retain', 'RETAIN'))).code, 0);
  t.equal(await fs.readFile(foreign, 'utf8'), 'foreign');
});

t.test('a failed install leaves the previous revision installed', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const dest = path.join(dir, 'www');
  const v1 = await writeBundle(path.join(dir, 'v1'), {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }] }, files: { 'app/a.txt': 'v1' },
  });
  t.equal((await deployLocal(root, v1)).code, 0);
  await fs.writeFile(path.join(dir, 'www2-foreign'), 'x');
  const v2 = await writeBundle(path.join(dir, 'v2'), {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }, { source: 'other/www2-foreign', destination: dir }] },
    files: { 'app/a.txt': 'v2', 'other/www2-foreign': 'y' },
  });
  const r = await deployLocal(root, v2);
  t.equal(r.code, 1);
  t.equal(await fs.readFile(path.join(dest, 'a.txt'), 'utf8'), 'v1', 'the conflict is found before anything is removed');
});

t.test('permissions: mode by pattern and type, except, owner/group (root), acls', async t => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'www');
  const perms: any[] = [
    { object: dest, pattern: '*.sh', mode: '750', type: ['file'] },
    { object: dest, pattern: '*', except: ['*.sh'], mode: 640, type: ['file'] },
    { object: path.join(dest, 'data'), mode: 700, type: ['directory'] },
  ];
  if (isRoot) perms.push({ object: path.join(dest, 'owned'), owner: 'nobody', group: 'nogroup' });
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }], permissions: perms },
    files: { 'app/run.sh': 'x', 'app/conf.txt': 'x', 'app/data/nested/deeper/f.txt': 'x', 'app/owned/sub/f.txt': 'x' },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  const mode = async (p: string) => (await fs.stat(path.join(dest, p))).mode & 0o777;
  t.equal(await mode('run.sh'), 0o750);
  t.equal(await mode('conf.txt'), 0o640);
  t.equal(await mode('data/nested'), 0o700, 'directory modes apply to created subdirectories');
  t.equal(await mode('data/nested/deeper'), 0o700);
  t.equal(await mode('data/nested/deeper/f.txt'), 0o644, 'type: directory leaves files alone');
  t.not(await mode('data'), 0o700, 'the object itself is excluded');
  if (isRoot) {
    const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
    t.equal((await fs.stat(path.join(dest, 'owned', 'sub'))).uid, nobody, 'owner applied to directories');
    t.equal((await fs.stat(path.join(dest, 'owned', 'sub', 'f.txt'))).uid, nobody, 'owner applied to files');
    t.equal((await fs.stat(path.join(dest, 'owned'))).uid, 0, 'the object itself is excluded');
  }
});

t.test('permissions with acls use setfacl, or fail before touching the host naming the missing tool', async t => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'www');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: {
      version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }],
      permissions: [{ object: dest, pattern: '*.txt', acls: ['u:nobody:r--'], type: ['file'] }],
    },
    files: { 'app/a.txt': 'x' },
  });
  const missing = await deployLocal(path.join(dir, 'root1'), bundle, [], { env: { PATH: path.join(dir, 'empty-path') } });
  t.equal(missing.code, 1);
  t.match(eventOf(missing.json, 'Install').message, /setfacl is not installed.*"acl" package/);
  t.notOk(await fs.stat(dest).catch(() => undefined), 'nothing was installed');

  let hasSetfacl = true;
  try {
    execFileSync('setfacl', ['--version'], { stdio: 'ignore' });
  } catch {
    hasSetfacl = false;
  }
  t.ok(hasSetfacl, 'setfacl is installed on test machines (.ci/run installs the acl package)');
  if (!hasSetfacl) return;
  const r = await deployLocal(path.join(dir, 'root2'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(execFileSync('getfacl', ['-p', path.join(dest, 'a.txt')]).toString(), /user:nobody:r--/);
});

t.test('runas runs the script as that user with their HOME, USER, LOGNAME and the agent\'s PATH (root)', { skip: !isRoot && 'needs root: runas switches the hook to another user' }, async t => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'out');
  await fs.mkdir(out, { mode: 0o777 });
  await fs.chmod(out, 0o777);
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: { AfterInstall: [{ location: 'scripts/who.sh', runas: 'nobody' }] } },
    scripts: { 'scripts/who.sh': `echo "$(id -un) $HOME $USER $LOGNAME $PATH $LIFECYCLE_EVENT" > ${out}/who` },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  const home = execFileSync('getent', ['passwd', 'nobody']).toString().split(':')[5];
  t.equal((await fs.readFile(path.join(out, 'who'), 'utf8')).trim(), `nobody ${home} nobody nobody ${process.env.PATH} AfterInstall`);

  const unknown = await writeBundle(path.join(dir, 'c'), {
    appspec: { version: 0.0, os: 'linux', hooks: { AfterInstall: [{ location: 'scripts/who.sh', runas: 'no-such-user-xyz' }] } },
    scripts: { 'scripts/who.sh': 'true' },
  });
  const bad = await deployLocal(path.join(dir, 'root'), unknown, ['--deployment-group', 'other']);
  t.equal(bad.code, 1);
  t.match(eventOf(bad.json, 'AfterInstall').message, /runas user 'no-such-user-xyz'/);
});
