import { type Zone, UTC } from './format.js';
import { FerryError } from '../common/errors.js';

/**
 * The CLI's configuration: defaults, environment and flags merged in one place (docs/design/style.md §10).
 * `process.env` and the terminal are read here, by `readCliEnvironment`, and nowhere else in the CLI.
 */
export const CLI_DEFAULTS = Object.freeze({
  coordinator: '127.0.0.1:7420',
  /** Unary calls give up after this long (streams and uploads have no deadline). */
  unaryDeadlineMs: 30_000,
  /** UploadRevision chunk size. */
  chunkBytes: 1024 * 1024,
});

/** What the CLI takes from its surroundings, read once at start. */
export interface CliEnvironment {
  /** FERRY_COORDINATOR, when set and not empty. */
  coordinator?: string;
  noColor: boolean;
  /** FORCE_COLOR: set (and not 0/false) forces colour on, 0/false forces it off; absent: decide by TTY. */
  forceColor?: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Terminal width for the progress line (80 when unknown). */
  columns: number;
  /** FERRY_TOKEN, FERRY_CA (a file), FERRY_CA_FINGERPRINT, when set and not empty. */
  token?: string;
  ca?: string;
  caFingerprint?: string;
  /** The local time zone (minutes east of UTC at an instant); absent: UTC. */
  localZone?: Zone;
  /** FERRY_COMPLETE_TIMEOUT as given (e.g. `2s`): how long completion waits for the coordinator. */
  completeTimeout?: string;
}

interface TtyLike {
  isTTY?: boolean;
  columns?: number;
}

export function readCliEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  stdout: TtyLike = process.stdout,
  stderr: TtyLike = process.stderr,
): CliEnvironment {
  const e: CliEnvironment = {
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
    stdoutIsTTY: stdout.isTTY === true,
    stderrIsTTY: stderr.isTTY === true,
    columns: stdout.columns ?? stderr.columns ?? 80,
    // The process's zone (TZ, else the system's): what people read times in.
    localZone: ms => -new Date(ms).getTimezoneOffset(),
  };
  if (env.FERRY_COORDINATOR) e.coordinator = env.FERRY_COORDINATOR;
  if (env.FORCE_COLOR !== undefined) e.forceColor = !['0', 'false'].includes(env.FORCE_COLOR.trim().toLowerCase());
  if (env.FERRY_TOKEN) e.token = env.FERRY_TOKEN;
  if (env.FERRY_CA) e.ca = env.FERRY_CA;
  if (env.FERRY_CA_FINGERPRINT) e.caFingerprint = env.FERRY_CA_FINGERPRINT;
  if (env.FERRY_COMPLETE_TIMEOUT) e.completeTimeout = env.FERRY_COMPLETE_TIMEOUT;
  return Object.freeze(e);
}

/** The global flags every command sees (commander's `optsWithGlobals()`). */
export interface GlobalFlags {
  coordinator?: string;
  json?: boolean;
  token?: string;
  ca?: string;
  caFingerprint?: string;
  utc?: boolean;
}

/**
 * How the CLI talks to the coordinator: TLS when it is given the CA (a file, or its fingerprint to
 * pin), with the token as a bearer credential; plaintext otherwise (a coordinator run --insecure).
 */
export type CliSecurity =
  | { tls: false }
  | { tls: true; caFile?: string; caFingerprint?: string; token?: string };

export interface CliConfig {
  /** HOST:PORT (or unix:PATH) of the coordinator's ControlService. */
  coordinator: string;
  /** Where the address came from, for error messages. */
  coordinatorSource: '--coordinator' | 'FERRY_COORDINATOR' | 'default';
  json: boolean;
  /**
   * ANSI colour for what is painted: human output on stdout, or (with --json, whose document is
   * never painted) progress on stderr — when that stream is a TTY and NO_COLOR is unset; FORCE_COLOR
   * overrides both ways.
   */
  color: boolean;
  /** Progress goes to stderr with --json, to stdout otherwise; live (redrawn) only on a TTY. */
  liveProgress: boolean;
  columns: number;
  /**
   * Human output to a terminal: the coordinator's strings are printed with control characters
   * escaped (cli/client.ts; docs/security.md). False with --json and when stdout is a file or pipe (raw bytes).
   */
  terminal: boolean;
  security: CliSecurity;
  /** The zone human output shows times in: local, or UTC with --utc (--json keeps the API's UTC). */
  zone: Zone;
}

export function resolveCliConfig(env: CliEnvironment, flags: GlobalFlags): CliConfig {
  const json = flags.json === true;
  let coordinator: string = CLI_DEFAULTS.coordinator;
  let coordinatorSource: CliConfig['coordinatorSource'] = 'default';
  if (flags.coordinator !== undefined) {
    coordinator = flags.coordinator;
    coordinatorSource = '--coordinator';
  } else if (env.coordinator !== undefined) {
    coordinator = env.coordinator;
    coordinatorSource = 'FERRY_COORDINATOR';
  }
  // Several replicas of an HA coordinator, comma-separated: each must be an address.
  for (const one of coordinator.split(',')) checkAddress(coordinatorSource === 'default' ? '--coordinator' : coordinatorSource, one.trim());
  coordinator = coordinator.split(',').map(a => a.trim()).join(',');
  return Object.freeze({
    coordinator,
    coordinatorSource,
    json,
    color: env.forceColor ?? ((json ? env.stderrIsTTY : env.stdoutIsTTY) && !env.noColor),
    liveProgress: json ? env.stderrIsTTY : env.stdoutIsTTY,
    columns: env.columns,
    terminal: !json && env.stdoutIsTTY,
    security: resolveSecurity(env, flags),
    zone: flags.utc === true ? UTC : (env.localZone ?? UTC),
  });
}

function resolveSecurity(env: CliEnvironment, flags: GlobalFlags): CliSecurity {
  const token = flags.token ?? env.token;
  const caFile = flags.ca ?? env.ca;
  const caFingerprint = flags.caFingerprint ?? env.caFingerprint;
  if (caFile === undefined && caFingerprint === undefined) {
    if (token !== undefined) {
      throw new FerryError('INVALID_ARGUMENT', `${flags.token !== undefined ? '--token' : 'FERRY_TOKEN'}: a token is only sent over TLS: also give the coordinator's CA with --ca FILE (FERRY_CA) or --ca-fingerprint SHA256 (FERRY_CA_FINGERPRINT)`);
    }
    return { tls: false };
  }
  if (caFingerprint !== undefined && !/^(sha256[:=])?([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/i.test(caFingerprint.trim())) {
    throw new FerryError('INVALID_ARGUMENT', `${flags.caFingerprint !== undefined ? '--ca-fingerprint' : 'FERRY_CA_FINGERPRINT'}: not a SHA-256 fingerprint (64 hex digits, colons allowed, as ferry-coordinator init prints it)`);
  }
  return { tls: true, ...(caFile !== undefined && { caFile }), ...(caFingerprint !== undefined && { caFingerprint }), ...(token !== undefined && { token }) };
}

/** HOST:PORT, [IPv6]:PORT or unix:PATH. */
export function checkAddress(source: string, address: string): void {
  if (/^unix:\/?\S+$/.test(address)) return;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new FerryError('INVALID_ARGUMENT', `${source}: '${address}' is not HOST:PORT (e.g. ${CLI_DEFAULTS.coordinator})`);
  }
}
