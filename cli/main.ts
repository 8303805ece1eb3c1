import { readCliEnvironment } from './config.js';
import { EXIT } from './exit-codes.js';
import { processWriter } from './output.js';
import { runCli } from './program.js';

// grpc-js names the TLS server by its IP when --coordinator is one (Node's DEP0123): not the user's concern.
process.noDeprecation = true;

// Until the command finishes, the exit code says "a bug in ferry": should the event loop ever empty
// with the command still pending (a promise nothing will settle), the process must not exit 0 as if
// it had succeeded — a pipeline would take that for a deployment done.
process.exitCode = EXIT.internal;
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write('ferry: the command ended without an answer (an unexpected state inside ferry: please report it with the command you ran; exit 7)\n');
});

// `ferry … | head`: once the reader of stdout has gone, nothing more can be said to it. End at once,
// quietly, with 0 — not with a stack trace and exit 1, which a pipeline would read as "deployment
// Failed". (The command's own outcome is lost with the reader; `set -o pipefail` users asked for it.)
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      finished = true;
      process.exit(EXIT.ok);
    }
    throw err;
  });
}

// The `ferry` CLI: a client of the coordinator's ControlService (see README.md beside this file).
runCli(process.argv.slice(2), {
  writer: processWriter,
  env: readCliEnvironment(),
  now: () => Date.now(),
  cwd: process.cwd(),
}).then(
  code => {
    finished = true;
    process.exitCode = code;
    // Everything is closed by now; should a stray handle linger, do not hang a pipeline.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  err => {
    finished = true;
    process.stderr.write(`ferry: ${String(err)}\n  (an unexpected error inside ferry: please report it with the command you ran; exit 7)\n`);
    process.exitCode = EXIT.internal;
  },
);
