import { readCliEnvironment } from './config.js';
import { EXIT } from './exit-codes.js';
import { processWriter } from './output.js';
import { runCli } from './program.js';

// grpc-js names the TLS server by its IP when --coordinator is one (Node's DEP0123): not the user's concern.
process.noDeprecation = true;

// The `ferry` CLI: a client of the coordinator's ControlService (see README.md beside this file).
runCli(process.argv.slice(2), {
  writer: processWriter,
  env: readCliEnvironment(),
  now: () => Date.now(),
  cwd: process.cwd(),
}).then(
  code => {
    process.exitCode = code;
    // Everything is closed by now; should a stray handle linger, do not hang a pipeline.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  err => {
    process.stderr.write(`ferry: ${String(err)}\n  (an unexpected error inside ferry: please report it with the command you ran; exit 7)\n`);
    process.exitCode = EXIT.internal;
  },
);
