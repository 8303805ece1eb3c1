/**
 * Attack (docs/security.md): `ferry deploy plan` unpacked a revision whole under the coordinator's
 * temp dir: a 4.7 MB tgz of zeros made a deployer's plan write 1.5 GB. A plan now unpacks a revision
 * only up to 100× its compressed size (and 2 GiB), checked on the declared sizes before anything is
 * written, and refuses with an error naming the limit.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { ControlApi } from '../../cli/client.js';
import { fileChunks } from '../../cli/bundle.js';
import { ferry, startCoordinator } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

const planDirs = async () => (await fs.readdir(os.tmpdir())).filter(n => n.startsWith('ferry-plan-'));

t.test('a plan refuses a revision that unpacks to more than 100x its compressed size, writing nothing', async t => {
  const dir = await tempDir(t, 'ferry-sec-');
  const c = await startCoordinator(t, path.join(dir, 'data'));
  for (const args of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web']]) {
    t.equal((await ferry(c.address, args)).code, 0);
  }
  const src = path.join(dir, 'bomb');
  await fs.mkdir(src);
  await fs.writeFile(path.join(src, 'appspec.yml'), 'version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /srv/shop\n');
  execFileSync('truncate', ['-s', '300M', path.join(src, 'zeros.bin')]); // sparse: no disk used here
  const bomb = path.join(dir, 'bomb.tgz');
  execFileSync('tar', ['-czf', bomb, '-C', src, '.']);
  const compressed = (await fs.stat(bomb)).size;
  t.ok(compressed < 1024 * 1024, `300 MB of zeros compress to ${compressed} bytes`);
  t.equal((await ferry(c.address, ['revision', 'push', bomb, '--app', 'shop'])).code, 0);
  const before = await planDirs();

  const plan = await ferry(c.address, ['deploy', 'plan', '--app', 'shop', '--group', 'web', '--revision', 'latest']);
  t.equal(plan.code, 1, 'refused');
  t.match(plan.stderr, new RegExp(`bundle unpacks to (at least )?\\d+ bytes, more than the limit of ${compressed * 100} bytes \\(a plan unpacks a revision to at most 100× its compressed size \\(${compressed} bytes\\)`));
  t.same((await planDirs()).filter(n => !before.includes(n)), [], 'no unpacked copy is left behind');
  const du = execFileSync('du', ['-sb', path.join(dir, 'data')], { encoding: 'utf8' });
  t.ok(Number(du.split('\t')[0]) < 50 * 1024 * 1024, `the data dir stays small (${du.trim()})`);
});

t.test('plans unpack one revision at a time; past a few waiting, more are refused at once', async t => {
  const dir = await tempDir(t, 'ferry-sec-');
  const c = await startCoordinator(t, path.join(dir, 'data'));
  const api = new ControlApi(c.address, 120_000);
  t.teardown(() => api.close());
  await api.createApplication({ name: 'shop' });
  t.equal((await ferry(c.address, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  // 12 different revisions (a plan of one revision is shared), each 3 MB to unpack.
  const digests: string[] = [];
  for (let i = 0; i < 12; i++) {
    const src = path.join(dir, `rev${i}`);
    await fs.mkdir(src);
    await fs.writeFile(path.join(src, 'appspec.yml'), 'version: 0.0\nos: linux\n');
    await fs.writeFile(path.join(src, 'data.bin'), randomBytes(3 * 1024 * 1024));
    const file = path.join(dir, `rev${i}.tar`);
    execFileSync('tar', ['-cf', file, '-C', src, '.']);
    const digest = createHash('sha256').update(await fs.readFile(file)).digest('hex');
    await api.uploadRevision({ application: 'shop', bundleType: 'tar', description: `r${i}`, expectedDigest: digest }, fileChunks(file, 1024 * 1024));
    digests.push(digest);
  }
  const outcomes = await Promise.all(digests.map(revision =>
    api.planDeployment({ deployment: { application: 'shop', group: 'web', revision } }).then(() => 'planned', (err: Error) => String(err))));
  const refused = outcomes.filter(o => /deployment plans are unpacking revisions or waiting to: try ferry deploy plan again in a moment/.test(o));
  t.ok(refused.length >= 1 && refused.length <= 3, `the plans past 1 unpacking and 8 waiting are refused (${refused.length})`);
  t.equal(outcomes.filter(o => o === 'planned').length + refused.length, 12, `the others are planned: ${outcomes.filter(o => o !== 'planned' && !refused.includes(o)).join('; ')}`);
});
