import t from 'tap';
import { ferry, startCoordinator } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

// A server stream that fails must end with the error's status: grpc-js ignores the status of a
// destroyed stream, and the client used to wait for ever (failStream in coordinator/api/errors.ts).
t.test('streams over an unknown deployment end at once with NOT_FOUND', async t => {
  const c = await startCoordinator(t, await tempDir(t));
  for (const args of [
    ['deploy', 'logs', 'd-NOPE12345', '--follow'],
    ['deploy', 'logs', 'd-NOPE12345'],
  ]) {
    const r = await ferry(c.address, args, { timeoutMs: 15_000 });
    t.not(r.code, null, `${args.join(' ')}: exits`);
    t.not(r.code, 0, `${args.join(' ')}: fails`);
    t.match(r.stderr, /d-NOPE12345 does not exist/, `${args.join(' ')}: says why`);
  }
});
