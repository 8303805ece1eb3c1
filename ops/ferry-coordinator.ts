/** The `ferry-coordinator` program: the coordinator (coordinator/main.ts) plus `install` and `uninstall` as a service (ops/install) and `migrate-store` (coordinator/store/pg-migrate-store.ts). */
import { describeError } from '../common/errors.js';
import { FERRY_VERSION } from '../common/version.js';
import { runCoordinator } from '../coordinator/main.js';
import { initCoordinator } from '../coordinator/security/init.js';
import { runMigrateStoreCommand } from '../coordinator/store/pg-migrate-store.js';
import { isInstallVerb, runInstallProgram } from './install/main.js';

async function main(argv: string[]): Promise<number> {
  if (isInstallVerb(argv[2])) {
    const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
    return runInstallProgram('ferry-coordinator', FERRY_VERSION, argv, {
      uid, pathEnv: process.env.PATH ?? '', nodePath: process.execPath, write: s => void process.stdout.write(s), trust: { init: initCoordinator },
    });
  }
  // `ferry-coordinator migrate-store --from DIR --to postgres://…` (docs/high-availability.md)
  if (argv[2] === 'migrate-store') {
    return runMigrateStoreCommand(argv.slice(3), process.env, s => void process.stdout.write(s), s => void process.stderr.write(s));
  }
  return runCoordinator(argv);
}

main(process.argv).then(
  code => process.exit(code),
  err => {
    process.stderr.write(`ferry-coordinator: ${describeError(err)}\n`);
    process.exit(1);
  },
);
