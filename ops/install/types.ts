/** The vocabulary of `install` and `uninstall`: services, steps, layouts, probed facts, options. */

export type ServiceName = 'ferry-agent' | 'ferry-coordinator';

export type Step =
  | { kind: 'mkdir'; path: string; mode: number }
  /** Copies `entries` (paths relative to `from`) into `to`, which is removed first if it exists. */
  | { kind: 'copy'; from: string; to: string; entries: readonly string[] }
  /** Puts `staged` in place of `target`: target → old, staged → target, old removed. */
  | { kind: 'swap'; staged: string; target: string; old: string }
  | { kind: 'write'; path: string; mode: number; content: string }
  | { kind: 'remove'; path: string }
  /** Removes the directory only when it is empty (e.g. /etc/ferry after a purge). */
  | { kind: 'rmdir'; path: string }
  | { kind: 'run'; argv: readonly string[]; ignoreFailure?: boolean }
  /**
   * Enrolls the agent with its coordinator (agent/start/enroll.ts, in this process). `token` is only
   * the redacted form (`fy.<id>.***`): the secret is handed to the executor apart, never put in a step.
   */
  | { kind: 'enroll'; coordinator: string; caFingerprint: string; rootDir: string; hostId?: string; token: string }
  /** `ferry-coordinator init`: the CA, server certificate and first admin token in `data`. */
  | { kind: 'init'; data: string; sans: readonly string[] }
  /** Something the operator should know; performs nothing. */
  | { kind: 'note'; text: string };

/** Where everything goes, under `--prefix` (default `/`). */
export interface Layout {
  prefix: string;
  home: string;
  staged: string;
  old: string;
  configDir: string;
  configFile: string;
  unitDir: string;
  unitFile: string;
}



/**
 * What was probed on the machine (facts.ts). `systemd` is true when `/run/systemd/system`
 * exists and `systemctl` is on PATH; `--no-systemd` forces it false.
 */
export interface InstallFacts {
  systemd: boolean;
  /** The node binary running this command: the unit runs the same one. */
  nodePath: string;
  /** The package (or checkout) being installed from. */
  packageDir: string;
  /** What to copy from packageDir: bin, dist/…, proto/…, package.json, node_modules/<runtime deps>. */
  packageEntries: readonly string[];
  /** PREFIX/opt/ferry exists: this is an upgrade. */
  installed: boolean;
  configExists: boolean;
  unitExists: boolean;
  /** The other service is installed (its marker in /opt/ferry/.services or its unit): it shares /opt/ferry. */
  otherInstalled: boolean;
  /** From the existing config file (agent: root-dir, coordinator: data), for `--purge`. */
  configuredDataDir?: string;
  /** The coordinator's `--user` is in PREFIX/etc/passwd. */
  userExists?: boolean;
  /** Agent: the coordinator and host id the existing config file names (the service uses them, not new flags). */
  configuredCoordinator?: string;
  configuredHostId?: string;
  /** Agent: the id in ROOT/host-id, and the one ROOT/tls/agent.crt was issued to (enrolled). */
  keptHostId?: string;
  enrolledHostId?: string;
  /** Coordinator: DATA/tls holds a CA and server certificate (initialised); the CA's SHA-256 fingerprint. */
  caFingerprint?: string;
}

export interface AgentSettings {
  coordinator?: string;
  rootDir?: string;
  hostId?: string;
  zone?: string;
  tags: Readonly<Record<string, string>>;
  /** Enroll with a join token (`--token`/FERRY_JOIN_TOKEN and `--ca-fingerprint`); `token` is redacted. */
  enroll?: { caFingerprint: string; token: string; reenroll: boolean };
}

export interface CoordinatorSettings {
  data?: string;
  listen?: string;
  /** Run the coordinator as this system user (created when missing) instead of root. */
  user?: string;
  /** More names for the server certificate `init` makes (`--san`). */
  sans?: readonly string[];
}

export interface InstallOptions {
  service: ServiceName;
  prefix: string;
  /** Settings written to a new config file (an existing one is kept untouched). */
  agent?: AgentSettings;
  coordinator?: CoordinatorSettings;
}
