import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { detail, hostDeployment, startFakeControl } from '../helpers/fake-control.js';

/** `ferry … | head`: a reader that goes away early ends the command quietly with exit 0 (docs/operations.md). */

const FERRY_BIN = ['../../bin/ferry', '../../../bin/ferry'].map(p => fileURLToPath(new URL(p, import.meta.url))).find(p => existsSync(p)) ?? 'bin/ferry';

/** Runs bin/ferry and closes its stdout after the first chunk, as `head -c 1` would. */
function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string; firstChunk: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FERRY_COORDINATOR;
  const child = spawn(process.execPath, [FERRY_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let firstChunk = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.once('data', (b: Buffer) => {
    firstChunk = b.toString();
    child.stdout.destroy();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise(resolve => child.on('close', code => {
    clearTimeout(timer);
    resolve({ code, stderr, firstChunk });
  }));
}

t.test('deploy status into a pipe closed early exits 0 without a stack trace', async t => {
  const fake = await startFakeControl(t);
  // Far more output than a pipe buffer holds, so the write after the reader left fails with EPIPE.
  const hosts = Array.from({ length: 4000 }, (_, i) => hostDeployment({ hostId: `h-${i}`, hostname: `web-${i}`, status: 'Failed', errorMessage: 'x'.repeat(80) }));
  fake.deployment = detail({ status: 'Failed' }, hosts);
  for (const args of [['deploy', 'status', 'd-TEST1'], ['deploy', 'status', 'd-TEST1', '--json']]) {
    const r = await runIntoClosedPipe(['--coordinator', fake.address, ...args]);
    t.ok(r.firstChunk.length > 0, 'it started writing');
    t.equal(r.code, 0, args.join(' '));
    t.equal(r.stderr, '', 'nothing on stderr');
  }
});

t.test('events into a pipe closed early exits 0 quietly', async t => {
  const fake = await startFakeControl(t);
  fake.events = Array.from({ length: 5000 }, (_, i) => ({
    seq: i + 1, at: '2025-01-01T12:00:00.000Z', kind: 'InstanceSuccess', application: 'shop', groupName: 'web', groupId: 'g-1',
    deploymentId: 'd-TEST1', hostId: `h-${i}`, lifecycleEvent: '', status: 'Succeeded', payloadJson: '{}',
  }));
  const r = await runIntoClosedPipe(['--coordinator', fake.address, 'events']);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
});
