import { Command, CommanderError } from 'commander';
import { readEnvironment } from './config.js';
import { describeError, isFerryError } from './errors.js';
import { EXIT, executeLocal, localCommand, resolveLocalRun } from './local/command.js';
import { processWriter } from './local/render.js';
import { executeStart, startCommand } from './start/command.js';
import { enrollCommand, executeEnroll } from './start/enroll.js';
import { AGENT_VERSION } from './version.js';
import { executeInstall, executeUninstall, installCommand, uninstallCommand } from '../ops/install/command.js';

export { AGENT_VERSION };

// grpc-js names the TLS server by its IP when the coordinator address is one (Node DEP0123): not the operator's concern.
process.noDeprecation = true;

async function main(argv: string[]): Promise<number> {
  const env = readEnvironment();
  let exitCode: number = EXIT.ok;
  const program = new Command('ferry-agent')
    .description('Ferry agent: installs revisions and runs their CodeDeploy-compatible lifecycle hooks on this host')
    .version(AGENT_VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  const local = localCommand().exitOverride().action(async (opts: Record<string, unknown>) => {
    const run = await resolveLocalRun(opts, env, process.cwd());
    const abort = new AbortController();
    const stop = (sig: NodeJS.Signals) => {
      process.stderr.write(`\nferry-agent local: ${sig}: cancelling the running hook…\n`);
      abort.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const color = !run.json && process.stdout.isTTY === true && !env.noColor;
    exitCode = await executeLocal(run, env, processWriter, color, abort.signal);
  });
  program.addCommand(local);
  const start = startCommand().exitOverride().action(async (opts: Record<string, unknown>) => {
    exitCode = await executeStart(opts, env, process.cwd());
  });
  program.addCommand(start);
  program.addCommand(enrollCommand().exitOverride().action(async (opts: Record<string, unknown>) => {
    exitCode = await executeEnroll(opts, env, process.cwd(), s => void process.stdout.write(s));
  }));
  // ---- install / uninstall as a service (ops/install) ----
  const host = { uid: env.uid, pathEnv: env.hookEnv.PATH ?? '', nodePath: process.execPath, write: (s: string) => void process.stdout.write(s), ...(env.joinToken && { joinToken: env.joinToken }) };
  program.addCommand(installCommand('ferry-agent').exitOverride().action(async (opts: Record<string, unknown>) => {
    exitCode = await executeInstall('ferry-agent', opts, host, process.cwd());
  }));
  program.addCommand(uninstallCommand('ferry-agent').exitOverride().action(async (opts: Record<string, unknown>) => {
    exitCode = await executeUninstall('ferry-agent', opts, host, process.cwd());
  }));
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (isFerryError(err, 'INVALID_ARGUMENT')) {
      process.stderr.write(`ferry-agent: ${describeError(err)}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`ferry-agent: ${describeError(err)}\n`);
    return EXIT.failed;
  }
}

main(process.argv).then(
  code => process.exit(code),
  err => {
    process.stderr.write(`ferry-agent: ${describeError(err)}\n`);
    process.exit(EXIT.failed);
  },
);
