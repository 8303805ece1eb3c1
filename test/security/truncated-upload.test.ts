/**
 * Attack (docs/security.md): a raw UploadRevision without expected_digest, cancelled after 100 KB, was
 * stored as a (truncated) revision.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { waitFor } from '../helpers/fleet.js';
import { tlsCoordinator } from '../helpers/security.js';

t.test('an upload cut short stores nothing, with or without a digest; a digest is required', async t => {
  const s = await tlsCoordinator(t);
  t.equal((await s.as(s.admin, ['app', 'create', 'shop'])).code, 0);
  const api = s.controlApi(s.admin);
  const bundle = randomBytes(1024 * 1024);
  const digest = createHash('sha256').update(bundle).digest('hex');
  const revisions = async () => (await s.as(s.admin, ['revision', 'list', '--app', 'shop', '--json'])).json?.revisions ?? [];
  const tmpFiles = async () => (await fs.readdir(path.join(s.data, 'incoming')).catch(() => []));

  for (const expectedDigest of ['', digest]) {
    let ended: { code?: number } | undefined;
    const call = api.UploadRevision((err: any) => (ended = err ?? {}));
    call.write({ header: { application: 'shop', bundleType: 'tar', description: 'cut', expectedDigest } });
    for (let off = 0; off < 100 * 1024; off += 16 * 1024) call.write({ chunk: bundle.subarray(off, off + 16 * 1024) });
    await waitFor('the chunks to be sent', () => call.writableLength === 0 || ended);
    call.cancel();
    await waitFor('the call to end', () => ended);
    // The server sees the cancellation after the client: wait until it has cleaned up what it received.
    await waitFor('the coordinator to drop the partial upload', async () => (await tmpFiles()).length === 0, 10_000);
    t.same(await revisions(), [], `nothing is stored (expected_digest ${expectedDigest ? 'given' : 'absent'})`);
  }

  const whole = await new Promise<any>(resolve => {
    const call = api.UploadRevision((err: any, res: any) => resolve(err ?? res));
    call.write({ header: { application: 'shop', bundleType: 'tar', description: 'no digest' } });
    call.write({ chunk: bundle });
    call.end();
  });
  t.equal(whole.code, 3, 'a complete upload without expected_digest is refused (INVALID_ARGUMENT)');
  t.match(whole.details, /header\.expected_digest: required/);
  t.same(await revisions(), []);
});
