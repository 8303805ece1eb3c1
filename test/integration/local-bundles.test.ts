import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO, deployLocal, eventOf } from '../helpers/agent-cli.js';
import { hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { tempDir } from '../helpers/temp.js';

async function appBundle(dir: string, dest: string, version: string) {
  return writeBundle(dir, {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }], hooks: hooksFor(['ValidateService']) },
    files: { 'app/version.txt': version },
    scripts: { 'scripts/ValidateService.sh': `test "$(cat ${dest}/version.txt)" = ${version}` },
  });
}

for (const type of ['tar', 'tgz', 'zip'] as const) {
  for (const wrapped of [false, true]) {
    t.test(`a ${type} bundle${wrapped ? ' with a top-level wrapper directory' : ''} deploys`, async t => {
      const dir = await tempDir(t);
      const dest = path.join(dir, 'www');
      const src = await appBundle(path.join(dir, 'my-app-1.0'), dest, 'v1');
      const archive = pack(src, path.join(dir, `bundle.${type === 'tgz' ? 'tar.gz' : type}`), type, wrapped ? 'my-app-1.0' : undefined);
      const r = await deployLocal(path.join(dir, 'root'), archive);
      t.equal(r.code, 0, r.stdout + r.stderr);
      t.equal(r.json.bundleType, type, 'type inferred from the file name');
      t.equal(await fs.readFile(path.join(dest, 'version.txt'), 'utf8'), 'v1');
      t.ok(await fs.stat(path.join(r.json.deploymentDir, 'deployment-archive', 'appspec.yml')), 'the appspec sits at the revision root');
    });
  }
}

t.test('an explicit --type overrides the file name', async t => {
  const dir = await tempDir(t);
  const src = await appBundle(path.join(dir, 'src'), path.join(dir, 'www'), 'v1');
  const archive = pack(src, path.join(dir, 'bundle.bin'), 'tgz');
  const r = await deployLocal(path.join(dir, 'root'), archive, ['--type', 'tgz']);
  t.equal(r.code, 0, r.stderr);
  const unknown = await deployLocal(path.join(dir, 'root'), archive);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /cannot tell the type.*--type/);
});

t.test('hostile archives are rejected, nothing is written outside, and the previous revision stays installed', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const dest = path.join(dir, 'www');
  const good = await appBundle(path.join(dir, 'good'), dest, 'v1');
  t.equal((await deployLocal(root, good)).code, 0);
  const outside = path.join(dir, 'escaped');
  const hostile: Record<string, string> = {
    'dotdot.tar': `t.addfile(tarfile.TarInfo('../../../escaped'), io.BytesIO(b''))`,
    'absolute.tar': `i = tarfile.TarInfo('${outside}'); t.addfile(i, io.BytesIO(b''))`,
    'symlink.tar': `i = tarfile.TarInfo('link'); i.type = tarfile.SYMTYPE; i.linkname = '${dir}'; t.addfile(i)\n` +
      `t.addfile(tarfile.TarInfo('link/escaped'), io.BytesIO(b''))`,
    'device.tar': `i = tarfile.TarInfo('dev'); i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; t.addfile(i)`,
  };
  for (const [name, body] of Object.entries(hostile)) {
    const archive = path.join(dir, name);
    const script = `import tarfile, io\nt = tarfile.open('${archive}', 'w')\n` +
      `t.addfile(tarfile.TarInfo('appspec.yml'), io.BytesIO(b''))\n${body}\nt.close()`;
    execFileSync('python3', ['-c', script]);
    const r = await deployLocal(root, archive);
    t.equal(r.code, 1, name);
    const e = eventOf(r.json, 'DownloadBundle');
    t.equal(e.errorCode, 'BundleRejected', name);
    t.match(e.message, name.replace('.tar', '') === 'device' ? /dev/ : /escaped|link/, `${name}: the message names the entry`);
    t.equal(eventOf(r.json, 'ApplicationStop').status, 'Skipped', `${name}: the running app was not stopped`);
    t.notOk(await fs.stat(outside).catch(() => undefined), `${name}: nothing written outside`);
    t.notOk(await fs.stat(path.join(r.json.deploymentDir, 'deployment-archive')).catch(() => undefined), `${name}: no half-unpacked revision`);
    t.equal(await fs.readFile(path.join(dest, 'version.txt'), 'utf8'), 'v1', `${name}: the previous revision is still installed`);
  }
  const big = pack(await appBundle(path.join(dir, 'big'), dest, 'v2'), path.join(dir, 'big.tgz'), 'tgz');
  const tooBig = await deployLocal(root, big, ['--max-bundle-size', '10']);
  t.equal(tooBig.code, 1);
  t.equal(eventOf(tooBig.json, 'DownloadBundle').errorCode, 'BundleRejected');
});

t.test('an invalid appspec fails DownloadBundle listing every problem, before any hook runs', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const proof = path.join(dir, 'proof');
  const dest = path.join(dir, 'www');
  const v1 = await writeBundle(path.join(dir, 'v1'), {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }], hooks: hooksFor(['ApplicationStop']) },
    files: { 'app/a.txt': 'v1' },
    scripts: { 'scripts/ApplicationStop.sh': `echo stop >> ${proof}` },
  });
  t.equal((await deployLocal(root, v1)).code, 0);
  const bad = await writeBundle(path.join(dir, 'bad'), {
    appspec: 'version: 1.0\nos: ubuntu\nhooks:\n  Deploy:\n    - location: x.sh\n      timeout: -5\n',
  });
  const r = await deployLocal(root, bad);
  t.equal(r.code, 1);
  const e = eventOf(r.json, 'DownloadBundle');
  t.equal(e.errorCode, 'AppSpecInvalid');
  t.match(e.message, /appspec\.yml:1 version/);
  t.match(e.message, /appspec\.yml:2 os/);
  t.match(e.message, /appspec\.yml:6 hooks\.Deploy\[0\]\.timeout/);
  t.notOk(await fs.stat(proof).catch(() => undefined), 'the old revision\'s ApplicationStop did not run');
  t.equal(await fs.readFile(path.join(dest, 'a.txt'), 'utf8'), 'v1');
});

t.test('a broken ApplicationStop blocks the next deployment until --ignore-application-stop-failures (hooks-examples/broken-stop)', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const example = path.join(REPO, 'hooks-examples', 'broken-stop');
  const dest = '/tmp/ferry-broken-stop';
  t.teardown(() => fs.rm(dest, { recursive: true, force: true }));
  const group = ['--deployment-group', `broken-${path.basename(dir)}`, '--file-exists-behavior', 'OVERWRITE'];
  t.equal((await deployLocal(root, example, group)).code, 0, 'the first install has no previous ApplicationStop');
  const blocked = await deployLocal(root, example, group);
  t.equal(blocked.code, 1);
  const stop = eventOf(blocked.json, 'ApplicationStop');
  t.equal(stop.errorCode, 'ScriptFailed');
  t.match(stop.message, /previous revision.*--ignore-application-stop-failures/);
  const through = await deployLocal(root, example, [...group, '--ignore-application-stop-failures']);
  t.equal(through.code, 0, through.stderr);
  t.equal(eventOf(through.json, 'ApplicationStop').status, 'Failed');
  t.equal(eventOf(through.json, 'ApplicationStop').ignored, true);
  t.match(through.json.warnings.join('\n'), /ApplicationStop of the previous revision failed and was ignored/);
});

t.test('a missing previous revision fails the first previous-revision event with a way out', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const v1 = await writeBundle(path.join(dir, 'v1'), { appspec: { version: 0.0, os: 'linux' } });
  const first = await deployLocal(root, v1);
  await fs.rm(first.json.deploymentDir, { recursive: true });
  const r = await deployLocal(root, v1);
  t.equal(r.code, 1);
  t.equal(r.json.error.event, 'BeforeBlockTraffic');
  t.equal(r.json.error.code, 'PreviousRevisionUnusable');
  t.match(r.json.error.message, /previous revision of this group .* is missing.*--ignore-application-stop-failures/s);
  t.equal(eventOf(r.json, 'ApplicationStop').status, 'Skipped');
  t.equal(eventOf(r.json, 'Install').status, 'Skipped', 'nothing was installed');
  t.equal((await deployLocal(root, v1, ['--ignore-application-stop-failures'])).code, 0);
});
