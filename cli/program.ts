import { Command, CommanderError } from 'commander';
import { FerryError, describeError } from '../common/errors.js';
import { registerAppCommands } from './commands/app.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDeployCommands } from './commands/deploy.js';
import { registerEventsCommand } from './commands/events.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerGroupCommands } from './commands/group.js';
import { registerTokenCommands } from './commands/token.js';
import { registerHostsCommands } from './commands/hosts.js';
import { registerPromoteCommand } from './commands/promote.js';
import { registerRevisionCommands } from './commands/revision.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { CLI_DEFAULTS } from './config.js';
import { EXIT, EXIT_CODES_HELP, exitCodeForError } from './exit-codes.js';
import { type CliDeps, Runner } from './session.js';

import { FERRY_VERSION } from '../common/version.js';

const ROOT_HELP = `
Examples:
  ferry app create shop
  ferry group create --app shop --name web --tag-set role=web --config HalfAtATime
  ferry revision push ./my-app --app shop
  ferry deploy create --app shop --group web --revision latest --wait
  ferry deploy logs d-123 --follow
  ferry events --follow --since 1200
  ferry promote --app shop --from staging --to prod --wait --json     # CI: see docs/pipelines.md
  source <(ferry completion bash)

The coordinator: --coordinator HOST:PORT (replicas: a:7420,b:7420), else $FERRY_COORDINATOR, else ${CLI_DEFAULTS.coordinator}.
It serves TLS (unless run --insecure): give its CA (--ca DATA/tls/ca.crt or --ca-fingerprint) and a
token (--token, $FERRY_TOKEN; the first admin token is in DATA/admin.token).
Every command takes --json (one JSON document on stdout; progress on stderr). Colour only on a terminal,
never with NO_COLOR; FORCE_COLOR=1 forces it, FORCE_COLOR=0 turns it off.

${EXIT_CODES_HELP}`;

/** The `ferry` command tree, writing through the injected writer. */
export function buildProgram(r: Runner): Command {
  const { writer } = r.deps;
  const program = new Command('ferry')
    .description('Ferry CLI: create applications and deployment groups, push revisions, run and watch deployments')
    .version(FERRY_VERSION)
    .option('--coordinator <host:port>', `the coordinator's address; replicas comma-separated, a:7420,b:7420 (default: $FERRY_COORDINATOR or ${CLI_DEFAULTS.coordinator})`)
    .option('--utc', 'show times in UTC (default: the local time zone, with its offset); --json is always UTC')
    .option('--token <token>', 'API token (default $FERRY_TOKEN); sent only over TLS')
    .option('--ca <file>', "the coordinator's CA certificate, DATA/tls/ca.crt (default $FERRY_CA): talk TLS")
    .option('--ca-fingerprint <sha256>', "pin the coordinator's CA by the fingerprint init printed (default $FERRY_CA_FINGERPRINT): talk TLS")
    .exitOverride()
    .configureOutput({
      writeOut: s => writer.out(s),
      writeErr: s => writer.err(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'ferry: ')),
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', ROOT_HELP);
  registerAppCommands(program, r);
  registerConfigCommands(program, r);
  registerGroupCommands(program, r);
  registerRevisionCommands(program, r);
  registerDeployCommands(program, r);
  registerHostsCommands(program, r);
  registerEventsCommand(program, r);
  registerAuditCommand(program, r);
  registerPromoteCommand(program, r);
  registerCompletionCommand(program, r);
  registerScheduleCommands(program, r);
  registerTokenCommands(program, r);
  return program;
}

/** Runs one `ferry` invocation and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const runner = new Runner(deps);
  const program = buildProgram(runner);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return runner.exitCode;
  } catch (err) {
    // Commander has already printed its message (or the help).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const bug = !(err instanceof FerryError);
    deps.writer.err(`ferry: ${describeError(err)}${bug ? '\n  (an unexpected error inside ferry: please report it with the command you ran; exit 7)' : ''}\n`);
    return exitCodeForError(err);
  }
}
