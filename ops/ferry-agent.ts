/**
 * The `ferry-agent` program: the agent's commands (agent/main.ts) plus `install` and `uninstall` as a
 * service (ops/install). Loads no coordinator module and no SQLite (a test reads its import graph).
 */
// First: V8's settings for the agent (agent/v8-flags.ts), before any other module is loaded.
import '../agent/v8-flags.js';
import { describeError } from '../common/errors.js';
import { runAgent } from '../agent/main.js';
import { enrollHost } from '../agent/start/enroll.js';
import { type InstallHost, executeInstall, executeUninstall, installCommand, uninstallCommand } from './install/command.js';

runAgent(process.argv, ({ env, setExitCode }) => {
  const host: InstallHost = {
    uid: env.uid, pathEnv: env.hookEnv.PATH ?? '', nodePath: process.execPath, write: s => void process.stdout.write(s),
    ...(env.joinToken && { joinToken: env.joinToken }), trust: { enroll: enrollHost },
  };
  return [
    installCommand('ferry-agent').exitOverride().action(async (opts: Record<string, unknown>) => {
      setExitCode(await executeInstall('ferry-agent', opts, host, process.cwd()));
    }),
    uninstallCommand('ferry-agent').exitOverride().action(async (opts: Record<string, unknown>) => {
      setExitCode(await executeUninstall('ferry-agent', opts, host, process.cwd()));
    }),
  ];
}).then(
  code => process.exit(code),
  err => {
    process.stderr.write(`ferry-agent: ${describeError(err)}\n`);
    process.exit(1);
  },
);
