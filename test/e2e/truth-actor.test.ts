import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hooksFor, writeBundle } from '../helpers/bundle.js';
import { startCoordinator } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';
import { asCaller, mintToken, readTrust } from '../helpers/trust.js';

/**
 * Truthful rollouts, rule 10: who did something comes from the credentials (token id and
 * description), never from what the client says about itself (its OS user name).
 */
t.test('a schedule made and cancelled with a token records the token, not the client\'s user@host', async t => {
  const dir = await tempDir(t, 'ferry-actor-');
  const data = path.join(dir, 'data');
  const c = await startCoordinator(t, data, [], '127.0.0.1:0', { tls: true });
  const { caFile, admin } = await readTrust(data);
  const as = asCaller(c.address, { FERRY_CA: caFile });
  t.equal((await as(admin, ['app', 'create', 'shop'])).code, 0);
  t.equal((await as(admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0);
  const deployer = await mintToken(t, as, admin, 'deployer', ['--description', 'release-bot']);
  const tokenId = deployer.split('.')[1]!;
  const bundle = path.join(dir, 'bundle');
  await writeBundle(bundle, { appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) }, scripts: { 'scripts/ApplicationStart.sh': 'true' } });
  t.equal((await as(deployer, ['revision', 'push', bundle, '--app', 'shop'])).code, 0);
  const at = new Date(Date.now() + 3_600_000).toISOString();
  const created = await as(deployer, ['schedule', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--at', at, '--json']);
  t.equal(created.code, 0, created.stderr);
  const claimed = `${os.userInfo().username}@${os.hostname()}`;
  t.equal(created.json.schedule?.createdBy ?? created.json.createdBy, `token:${tokenId} (release-bot)`, 'created by the token, with its description');
  t.notMatch(JSON.stringify(created.json), claimed, 'the client\'s own claim is not recorded');
  const id = created.json.schedule?.id ?? created.json.id;
  const cancelled = await as(deployer, ['schedule', 'cancel', id, '--json']);
  t.equal(cancelled.code, 0, cancelled.stderr);
  const audit = await as(admin, ['audit', '--json']);
  t.equal(audit.code, 0, audit.stderr);
  const records = audit.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l) as { actor: string; action: string });
  t.ok(records.some(r => r.actor === `token:${tokenId}` && /Schedule/.test(r.action)), 'the audit log names the same token');
});
