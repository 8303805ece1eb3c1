import type * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import { channelCredentials } from './credentials.js';
import { ControlApi } from './client.js';
import { CLI_DEFAULTS, type CliConfig, type CliEnvironment, type GlobalFlags, resolveCliConfig } from './config.js';
import { Output, type Writer } from './output.js';
import { explainPlaintextToTls } from './tls-probe.js';

/** What `runCli` is given: everything from outside the process, so tests can pass their own. */
export interface CliDeps {
  writer: Writer;
  env: CliEnvironment;
  now: () => number;
  cwd: string;
}

/** One command run: its resolved config, its output, and a lazily opened API client. */
export class Session {
  readonly out: Output;
  private client: ControlApi | undefined;
  private credentials: grpc.ChannelCredentials | undefined;

  constructor(
    readonly config: CliConfig,
    readonly deps: CliDeps,
    /** Each unary call's deadline (shorter for `ferry __complete`). */
    private readonly deadlineMs: number = CLI_DEFAULTS.unaryDeadlineMs,
  ) {
    this.out = new Output(deps.writer, config);
  }

  get now(): number {
    return this.deps.now();
  }

  /** Reads the CA (or fetches and pins it) before the first call; `api()` needs it. */
  async prepare(): Promise<void> {
    this.credentials ??= await channelCredentials(this.config.coordinator, this.config.security);
  }

  api(): ControlApi {
    this.client ??= new ControlApi(this.config.coordinator, this.deadlineMs, this.config.coordinatorSource, this.config.security.tls ? this.credentials : undefined, this.config.terminal);
    return this.client;
  }

  close(): void {
    this.out.endLive();
    this.client?.close();
  }
}

export type CommandAction = (s: Session, args: string[], opts: Record<string, unknown>) => Promise<number | void>;

/** Builds leaf commands the same way (every one has --json and examples) and runs their actions. */
export class Runner {
  exitCode = 0;

  constructor(readonly deps: CliDeps) {}

  /** A command with `--json` and an Examples section in its help. */
  leaf(parent: Command, nameAndArgs: string, description: string, examples: readonly string[]): Command {
    return parent
      .command(nameAndArgs)
      .description(description)
      .option('--json', 'print one JSON document on stdout (progress, if any, goes to stderr)')
      .addHelpText('after', `\nExamples:\n${examples.map(e => `  ${e}`).join('\n')}`);
  }

  /** Runs `fn` with a Session; its return value (default 0) becomes the process exit code. */
  action(cmd: Command, fn: CommandAction): Command {
    return cmd.action(async (...received: unknown[]) => {
      const command = received[received.length - 1] as Command;
      const flags = command.optsWithGlobals<GlobalFlags>();
      const session = new Session(resolveCliConfig(this.deps.env, flags), this.deps);
      try {
        await session.prepare();
        this.exitCode = (await fn(session, command.processedArgs as string[], command.opts())) ?? 0;
      } catch (err) {
        throw await explainPlaintextToTls(err, session.config);
      } finally {
        session.close();
      }
    });
  }
}
