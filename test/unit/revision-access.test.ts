import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { RevisionAccess } from '../../agent/lifecycle/revision-access.js';
import { tempDir } from '../helpers/temp.js';

t.test('a deployment directory is created private (0750) even under a permissive umask', async t => {
  const dir = path.join(await tempDir(t), 'g', 'd-1');
  const before = process.umask(0);
  try {
    await RevisionAccess.create(dir);
  } finally {
    process.umask(before);
  }
  t.equal((await fs.stat(dir)).mode & 0o777, 0o750);
  t.equal((await fs.stat(path.dirname(dir))).mode & 0o777, 0o755, 'the group dir stays searchable');
});

t.test('without setfacl the directory is opened to every user, with a warning that says why', async t => {
  const dir = path.join(await tempDir(t), 'g', 'd-1');
  await RevisionAccess.create(dir);
  const access = new RevisionAccess(path.join(dir, 'no-such-setfacl'));
  const warning = await access.grant(path.join(dir, 'deployment-archive'), 65534);
  t.equal(warning, `${dir} is readable by every local user: setfacl is not installed on this host (install the "acl" package), so a runas script can only reach its revision this way`);
  t.equal((await fs.stat(dir)).mode & 0o777, 0o755);
  t.equal(await access.grant(path.join(dir, 'deployment-archive'), 65534), undefined, 'said once per directory and user');
  t.equal(await access.grant(path.join(dir, 'deployment-archive'), 0), undefined, 'root needs nothing');
});
