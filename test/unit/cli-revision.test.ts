import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { list as listTar } from 'tar';
import { pack, writeBundle } from '../helpers/bundle.js';
import { runFerry, startFakeControl } from '../helpers/fake-control.js';
import { tempDir } from '../helpers/temp.js';

/** `ferry revision push`: what reaches UploadRevision, and what is refused before anything is sent. */

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MTIME = new Date('2024-03-01T10:00:00Z');

async function sampleApp(dir: string): Promise<string> {
  await writeBundle(dir, {
    appspec: { version: 0.0, os: 'linux', hooks: { ApplicationStart: [{ location: 'scripts/start.sh' }] } },
    files: { 'web/index.html': '<h1>v1</h1>\n', 'zz/big.bin': randomBytes(2.5 * 1024 * 1024).toString('base64') },
    scripts: { 'scripts/start.sh': 'echo started' },
  });
  for (const rel of ['appspec.yml', 'web/index.html', 'scripts/start.sh', 'zz/big.bin']) await fs.utimes(path.join(dir, rel), MTIME, MTIME);
  return dir;
}

async function tarEntries(bytes: Buffer, dir: string): Promise<{ path: string; mode: number; mtime?: Date; uid?: number; uname?: string }[]> {
  const file = path.join(dir, 'check.tgz');
  await fs.writeFile(file, bytes);
  const entries: { path: string; mode: number; mtime?: Date; uid?: number; uname?: string }[] = [];
  await listTar({ file, onReadEntry: e => void entries.push({ path: e.path, mode: e.mode ?? 0, mtime: e.mtime, uid: e.uid, uname: e.uname }) });
  return entries;
}

t.test('a directory is packed as a portable tgz whose digest is the sha256 of the uploaded bytes', async t => {
  const fake = await startFakeControl(t);
  const tmp = await tempDir(t);
  const app = await sampleApp(path.join(tmp, 'app'));
  const r = await runFerry(['--coordinator', fake.address, 'revision', 'push', app, '--app', 'shop', '--description', 'v1']);
  t.equal(r.code, 0, r.stderr);
  const [upload] = fake.uploads;
  const digest = sha256(upload!.bytes);
  t.equal(r.stdout.split('\n')[0], digest, 'the digest is printed first');
  t.match(r.stdout, /stored: shop tgz \d/);
  t.match(r.stdout, `deploy it: ferry deploy create --app shop --group GROUP --revision ${digest.slice(0, 12)}`);
  t.same(upload!.header, { application: 'shop', bundleType: 'tgz', description: 'v1', commit: '', expectedDigest: digest });
  t.ok(upload!.chunkSizes.length >= 3, 'several chunks');
  t.ok(upload!.chunkSizes.every(n => n <= 1024 * 1024), 'each chunk at most 1 MiB');

  const entries = await tarEntries(upload!.bytes, tmp);
  t.same(entries.map(e => e.path), ['appspec.yml', 'scripts/', 'scripts/start.sh', 'web/', 'web/index.html', 'zz/', 'zz/big.bin'], 'sorted, directories first');
  const script = entries.find(e => e.path === 'scripts/start.sh')!;
  t.equal(script.mode & 0o777, 0o755, 'modes kept');
  t.same(script.mtime, MTIME, 'mtimes kept');
  t.ok(entries.every(e => !e.uid && !e.uname), 'no owners');

  const again = await runFerry(['--coordinator', fake.address, 'revision', 'push', app, '--app', 'shop', '--json']);
  t.equal(again.code, 0, again.stderr);
  t.equal(again.json.revision.digest, digest, 'the same tree packs to the same bytes');
  t.equal(again.json.created, false);
  const human = await runFerry(['--coordinator', fake.address, 'revision', 'push', app, '--app', 'shop']);
  t.match(human.stdout, /\nalready stored: shop tgz/);
});

t.test('a directory without appspec.yml at its root is refused before any upload', async t => {
  const fake = await startFakeControl(t);
  const tmp = await tempDir(t);
  const wrapped = path.join(tmp, 'outer');
  await sampleApp(path.join(wrapped, 'inner'));
  const r = await runFerry(['--coordinator', fake.address, 'revision', 'push', wrapped, '--app', 'shop']);
  t.equal(r.code, 2);
  t.equal(r.stderr, `ferry: PATH: ${wrapped} has no appspec.yml (or appspec.yaml) at its root; a revision needs one (see hooks-examples/)\n`);
  const missing = await runFerry(['--coordinator', fake.address, 'revision', 'push', path.join(tmp, 'nope'), '--app', 'shop']);
  t.equal(missing.code, 2);
  t.match(missing.stderr, 'does not exist');
  t.same(fake.calls, []);
});

t.test('an archive is uploaded as is, its type from its name', async t => {
  const fake = await startFakeControl(t);
  const tmp = await tempDir(t);
  const app = await sampleApp(path.join(tmp, 'app'));
  for (const [name, type] of [['app.zip', 'zip'], ['app.tar.gz', 'tgz'], ['app.tar', 'tar']] as const) {
    const file = pack(app, path.join(tmp, name), type);
    const r = await runFerry(['--coordinator', fake.address, 'revision', 'push', file, '--app', 'shop', '--json'], { cwd: tmp });
    t.equal(r.code, 0, r.stderr);
    const bytes = await fs.readFile(file);
    t.equal(r.json.revision.digest, sha256(bytes), name);
    t.equal(fake.uploads.at(-1)!.header!.bundleType, type, name);
    t.ok(fake.uploads.at(-1)!.bytes.equals(bytes), `${name}: the bytes as they are`);
  }
  await fs.writeFile(path.join(tmp, 'app.rar'), 'x');
  const r = await runFerry(['--coordinator', fake.address, 'revision', 'push', 'app.rar', '--app', 'shop'], { cwd: tmp });
  t.equal(r.code, 2);
  t.match(r.stderr, 'is not a directory, .tar, .tgz, .tar.gz or .zip');
});

t.test('--git pushes git archive of the commit, with the commit recorded', async t => {
  const fake = await startFakeControl(t);
  const tmp = await tempDir(t);
  const repo = await sampleApp(path.join(tmp, 'repo'));
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
  git('init', '-q');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'empty');
  const empty = git('rev-parse', 'HEAD');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'v1');
  git('tag', 'v1');
  const commit = git('rev-parse', 'HEAD');
  const r = await runFerry(['--coordinator', fake.address, 'revision', 'push', '--git', repo, '--commit', 'v1', '--app', 'shop', '--json']);
  t.equal(r.code, 0, r.stderr);
  const expected = execFileSync('git', ['-C', repo, 'archive', '--format=tar.gz', commit], { maxBuffer: 64 * 1024 * 1024 });
  t.equal(r.json.revision.digest, sha256(expected), 'the digest of git archive');
  t.equal(r.json.revision.commit, commit);
  t.same(fake.uploads[0]!.header, { application: 'shop', bundleType: 'tgz', description: '', commit, expectedDigest: sha256(expected) });

  const bad = await runFerry(['--coordinator', fake.address, 'revision', 'push', '--git', repo, '--commit', 'nope', '--app', 'shop']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, `ferry: --commit: 'nope' is not a commit in ${repo}`);
  const noAppspec = await runFerry(['--coordinator', fake.address, 'revision', 'push', '--git', repo, '--commit', empty, '--app', 'shop']);
  t.equal(noAppspec.code, 2);
  t.match(noAppspec.stderr, `--commit: ${empty.slice(0, 12)} has no appspec.yml`);
  const both = await runFerry(['--coordinator', fake.address, 'revision', 'push', repo, '--git', repo, '--app', 'shop']);
  t.equal(both.code, 2);
  t.match(both.stderr, 'PATH: give either PATH or --git REPO_DIR, not both');
  const commitOnly = await runFerry(['--coordinator', fake.address, 'revision', 'push', repo, '--commit', 'v1', '--app', 'shop']);
  t.equal(commitOnly.code, 2);
  t.match(commitOnly.stderr, '--commit: only with --git REPO_DIR');
  t.equal(fake.uploads.length, 1, 'nothing else was uploaded');
});

t.test('revision list shows short digests, types, sizes and commits', async t => {
  const fake = await startFakeControl(t);
  fake.revisions = [{ digest: 'c'.repeat(64), application: 'shop', size: 3 * 1024 * 1024, bundleType: 'tgz', description: 'v2', commit: 'f'.repeat(40), createdAt: '2025-01-01T12:00:00Z', heldBy: [] }];
  const r = await runFerry(['--coordinator', fake.address, 'revision', 'list', '--app', 'shop']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, [
    'DIGEST        TYPE  SIZE     COMMIT        DESCRIPTION  CREATED',
    `${'c'.repeat(12)}  tgz   3.0 MiB  ${'f'.repeat(12)}  v2           2025-01-01 12:00:00Z`,
    '',
  ].join('\n'));
  t.same(fake.requests('ListRevisions'), [{ application: 'shop' }]);
});
