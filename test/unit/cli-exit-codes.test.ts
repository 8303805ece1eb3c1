import t from 'tap';
import { runCli } from '../../cli/program.js';
import { startFakeControl } from '../helpers/fake-control.js';

/** A bug inside ferry exits 7 — never 1, which a pipeline reads as "the deployment failed". */

t.test('an unexpected error inside the CLI exits 7 and asks for a report', async t => {
  const fake = await startFakeControl(t);
  let err = '';
  const code = await runCli(['--coordinator', fake.address, 'app', 'list'], {
    writer: {
      out: () => {
        throw new TypeError('cannot write');
      },
      err: s => void (err += s),
    },
    env: { noColor: true, stdoutIsTTY: false, stderrIsTTY: false, columns: 80 },
    now: () => 0,
    cwd: process.cwd(),
  });
  t.equal(code, 7);
  t.match(err, 'ferry: cannot write\n');
  t.match(err, 'an unexpected error inside ferry: please report it');
});
