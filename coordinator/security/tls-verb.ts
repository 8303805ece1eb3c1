import { Command, CommanderError } from 'commander';
import { describeError, isFerryError } from '../../common/errors.js';
import { type CoordinatorConfig, resolveCoordinatorConfig } from '../config.js';

/** A `ferry-coordinator` verb on DATA/tls/ (`init`, `renew-cert`): --data/--config, repeatable --san, --json. */
export interface TlsVerb {
  name: string;
  description: string;
  sanHelp: string;
  jsonHelp: string;
  /** After the options in --help: what it writes, examples. */
  help: string;
  /** Refuses a configuration the verb cannot serve (throws), before anything is made. */
  check?(config: CoordinatorConfig): void;
  /** Does the work; returns what to print (JSON when `json`). */
  run(dataDir: string, sans: readonly string[], json: boolean): Promise<string>;
}

/** The verb's command line (options and help), without running anything: runTlsVerb parses with it, the docs test too. */
export function tlsVerbCommand(verb: TlsVerb): Command {
  return new Command(`ferry-coordinator ${verb.name}`)
    .description(verb.description)
    .option('--data <dir>', 'data directory (env FERRY_DATA_DIR or the config file\'s data)')
    .option('--config <file>', 'the coordinator config file (for data)')
    .option('--san <host-or-ip>', verb.sanHelp, (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', verb.jsonHelp)
    .exitOverride()
    .addHelpText('after', verb.help);
}

/** Runs a TlsVerb; returns the exit code (0, 1 failure, 2 usage). */
export async function runTlsVerb(verb: TlsVerb, argv: readonly string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const program = tlsVerbCommand(verb).configureOutput({ writeOut: out, writeErr: err });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    return e instanceof CommanderError && e.exitCode === 0 ? 0 : 2;
  }
  const opts = program.opts<{ data?: string; config?: string; san: string[]; json?: boolean }>();
  try {
    const config = resolveCoordinatorConfig({ ...(opts.data && { data: opts.data }), ...(opts.config && { config: opts.config }) }, env, process.cwd());
    verb.check?.(config);
    out(await verb.run(config.dataDir, opts.san, opts.json === true));
    return 0;
  } catch (e) {
    err(`ferry-coordinator ${verb.name}: ${describeError(e)}\n`);
    return isFerryError(e, 'INVALID_ARGUMENT') ? 2 : 1;
  }
}
