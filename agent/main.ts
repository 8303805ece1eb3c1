import { Command, CommanderError } from 'commander';
import { type AgentEnvironment, readEnvironment } from './config.js';
import { describeError, isFerryError } from '../common/errors.js';
import { EXIT, executeLocal, localCommand, resolveLocalRun } from './local/command.js';
import { processWriter } from './local/render.js';
import { executeStart, startCommand } from './start/command.js';
import { enrollCommand, executeEnroll } from './start/enroll.js';
import { FERRY_VERSION } from '../common/version.js';
import { runWatchdog, watchdogCommand } from './upgrade/watchdog.js';


// grpc-js names the TLS server by its IP when the coordinator address is one (Node DEP0123): not the operator's concern.
process.noDeprecation = true;

/** What the agent's environment gives a command added by the program that embeds the agent (ops/ferry-agent.ts: install, uninstall). */
export interface AgentCommandContext {
  env: AgentEnvironment;
  setExitCode(code: number): void;
}

/** `ferry-agent …`: runs one command and returns its exit code. `extra` adds commands (the service install). */
export async function runAgent(argv: string[], extra: (ctx: AgentCommandContext) => Command[] = () => []): Promise<number> {
  const env = readEnvironment();
  let exitCode: number = EXIT.ok;
  const program = new Command('ferry-agent')
    .description('Ferry agent: installs revisions and runs their CodeDeploy-compatible lifecycle hooks on this host')
    .version(FERRY_VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  const local = localCommand().exitOverride().action(async (opts: Record<string, unknown>) => {
    if (opts.version) {
      process.stdout.write(`${FERRY_VERSION}\n`); // codedeploy-local -v prints its version
      return;
    }
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
  program.addCommand(watchdogCommand().exitOverride().action(async (opts: { marker: string }) => {
    exitCode = await runWatchdog(opts.marker, line => void process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  }), { hidden: true });
  for (const cmd of extra({ env, setExitCode: code => void (exitCode = code) })) program.addCommand(cmd);
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
