import { Command, CommanderError } from 'commander';
import { describeError, isFerryError } from '../../common/errors.js';
import { type InstallHost, executeInstall, executeUninstall, installCommand, uninstallCommand } from './command.js';
import type { ServiceName } from './types.js';

/** `ferry-coordinator install|uninstall …`: its own small program, as the coordinator's root command has no subcommands. */
export async function runInstallProgram(service: ServiceName, version: string, argv: string[], host: InstallHost): Promise<number> {
  let exitCode = 0;
  const program = new Command(service).version(version).exitOverride();
  program.addCommand(installCommand(service).exitOverride().action(async (opts: Record<string, unknown>) => {
    exitCode = await executeInstall(service, opts, host, process.cwd());
  }));
  program.addCommand(uninstallCommand(service).exitOverride().action(async (opts: Record<string, unknown>) => {
    exitCode = await executeUninstall(service, opts, host, process.cwd());
  }));
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`${service}: ${describeError(err)}\n`);
    return isFerryError(err, 'INVALID_ARGUMENT') ? 2 : 1;
  }
}

export const isInstallVerb = (arg: string | undefined) => arg === 'install' || arg === 'uninstall';
