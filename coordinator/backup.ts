import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { describeError, isFerryError } from '../common/errors.js';
import { backupDatabase } from './store/data-dir.js';

/**
 * `ferry-coordinator backup --data DIR --to FILE`: a consistent copy of the coordinator's database,
 * taken while it runs (docs/coordinator.md, "Backup and restore").
 */
export function backupCommand(): Command {
  return new Command('backup')
    .description('copy the coordinator\'s database consistently while it runs (SQLite online backup), verified before it is kept')
    .requiredOption('--data <dir>', 'the coordinator\'s data directory (env FERRY_DATA_DIR)', process.env.FERRY_DATA_DIR)
    .requiredOption('--to <file>', 'where the copy goes (written whole or not at all, mode 0600)')
    .option('--json', 'print { file, bytes } as JSON')
    .exitOverride()
    .addHelpText('after', `
Only the database: also keep DATA/revisions/ (content-addressed, never changed: copy or rsync it)
and DATA/tls/ (the CA key and certificates). To restore: stop the coordinator, put the copy at
DATA/ferry.db (removing DATA/ferry.db-wal and -shm), start it.

Example:
  ferry-coordinator backup --data /var/lib/ferry --to /backup/ferry-$(date +%F).db`);
}

export async function runBackupCommand(args: string[], write: (s: string) => void, writeErr: (s: string) => void): Promise<number> {
  const program = backupCommand().configureOutput({ writeOut: write, writeErr });
  try {
    program.parse(args, { from: 'user' });
  } catch (err) {
    return err instanceof CommanderError && err.exitCode === 0 ? 0 : 2;
  }
  const opts = program.opts<{ data: string; to: string; json?: boolean }>();
  try {
    const r = await backupDatabase(path.resolve(opts.data), opts.to);
    write(opts.json ? `${JSON.stringify(r)}\n` : `backed up ${path.join(path.resolve(opts.data), 'ferry.db')} to ${r.file} (${r.bytes} bytes, verified)\n`);
    return 0;
  } catch (err) {
    writeErr(`ferry-coordinator backup: ${describeError(err)}\n`);
    return isFerryError(err, 'INVALID_ARGUMENT') || isFerryError(err, 'NOT_FOUND') ? 2 : 1;
  }
}
