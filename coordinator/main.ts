import { Command, CommanderError } from 'commander';
import { describeError, isFerryError } from '../common/errors.js';
import { FERRY_VERSION } from '../common/version.js';
import { resolveCoordinatorConfig } from './config.js';
import { createLogger, logFileIn } from './log.js';
import { startCoordinator } from './server.js';
import { renderInit, runInitCommand } from './security/init.js';
import { runRenewCertCommand } from './security/server-cert.js';
import { runBackupCommand } from './backup.js';

/**
 * The coordinator's command line (options and help) without running anything: runCoordinator parses
 * with it, the docs test too. `init`, `renew-cert` (security/) and `install`/`uninstall` (ops/) are
 * verbs handled before it.
 */
export function coordinatorCommand(): Command {
  return new Command('ferry-coordinator')
    .description('Ferry coordinator: gRPC API, SQLite store, rollout scheduler and revision store, in one process')
    .version(FERRY_VERSION)
    .option('--data <dir>', 'data directory: SQLite store (ferry.db), revisions/, logs/ (env FERRY_DATA_DIR; required here or in the config file)')
    .option('--store <store>', 'where the state is kept: sqlite (the default, DATA/ferry.db) or postgres://user@host:port/database[?sslmode=…&sslrootcert=FILE&schema=NAME] (env FERRY_STORE; docs/high-availability.md)')
    .option('--store-password-file <file>', 'a file holding the PostgreSQL password (env FERRY_STORE_PASSWORD_FILE, or the password itself in FERRY_STORE_PASSWORD)')
    .option('--store-sslmode <mode>', 'TLS to PostgreSQL: disable, require, verify-ca, verify-full (default verify-full; disable on loopback) (env FERRY_STORE_SSLMODE)')
    .option('--store-ca-file <file>', 'the CA certificate(s) that signed the PostgreSQL server\'s certificate (env FERRY_STORE_CA_FILE)')
    .option('--listen <host:port>', 'gRPC address for the CLI and the agents (env FERRY_LISTEN)', '127.0.0.1:7420')
    .option('--config <file>', 'YAML/JSON settings, every key in docs/configuration.md (default $FERRY_COORDINATOR_CONFIG, else /etc/ferry/coordinator.yaml when it exists)')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .option('--heartbeat-interval <duration>', 'how often agents send heartbeats', '5s')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (off by default; unauthenticated: keep it on loopback) (env FERRY_METRICS_LISTEN)')
    .option('--webhook-retry-base <duration>', 'first retry delay of a failed webhook delivery; doubles per attempt up to webhookRetryMax (default 1s) (env FERRY_WEBHOOK_RETRY_BASE)')
    .option('--audit-retention <duration>', 'audit records older than this are deleted, at start and hourly; 0 keeps them forever (default 365d) (env FERRY_AUDIT_RETENTION)')
    .option('--insecure', 'plaintext and no tokens, for development: only on a loopback --listen (env FERRY_INSECURE); without it TLS from ferry-coordinator init')
    .option('--agent-timeout <duration>', 'an agent silent this long is lost: its in-flight hosts become Unknown (AGENT_LOST) (default: 3 heartbeats)')
    .option('--max-heartbeat-rate <n>', 'heartbeats a second the whole fleet sends at most: past it the heartbeat interval and --agent-timeout grow in whole steps (10,000 hosts: every 40 s, lost after 120 s); 0: never (default 250) (env FERRY_MAX_HEARTBEAT_RATE)')
    .option('--refused-call-limit <n>', 'refused calls per client address and minute before the address is refused at once; also the refused or failed calls an address adds to the audit log per minute before the rest fold into one record; 0: no limit (default 60) (env FERRY_REFUSED_CALL_LIMIT)')
    .option('--connect-timeout <duration>', 'drop a client that has not finished its TLS handshake this long after connecting (default 10s) (env FERRY_CONNECT_TIMEOUT)')
    .option('--request-timeout <duration>', 'an HTTP/1.1 request\'s headers must arrive within this long (default 30s) (env FERRY_REQUEST_TIMEOUT)')
    .option('--idle-timeout <duration>', 'close connections idle this long: HTTP/2 with no call open, HTTP/1.1 with no bytes moving (default 5m) (env FERRY_IDLE_TIMEOUT)')
    .option('--max-connections <n>', 'open connections at most; 0: no limit (default 20000) (env FERRY_MAX_CONNECTIONS)')
    .option('--max-connections-per-address <n>', 'open connections from one client address at most; 0: no limit (default 4096) (env FERRY_MAX_CONNECTIONS_PER_ADDRESS)')
    .option('--max-streams-per-caller <n>', 'server streams (watches, log/event/audit follows, console pages) one API token, or one address without a token, holds at once; 0: no limit (default 64) (env FERRY_MAX_STREAMS_PER_CALLER)')
    .option('--max-downloads-per-host <n>', 'revision downloads one host holds at once (HTTP and FetchRevision together); 0: no limit (default 4) (env FERRY_MAX_DOWNLOADS_PER_HOST)')
    .option('--download-stall-timeout <duration>', 'cut a revision download whose client takes nothing this long, returning its send buffers (default 60s) (env FERRY_DOWNLOAD_STALL_TIMEOUT)')
    .option('--public-url <url>', 'where people reach the coordinator (https://ferry.example.com): chat notifications link to its console pages /ui/ (env FERRY_PUBLIC_URL)')
    .option('--webhook-allow <list>', 'non-public webhook destinations to allow, comma-separated: loopback, link-local, private, CIDRs or addresses (default none) (env FERRY_WEBHOOK_ALLOW)')
    .option('--server-cert-renew-before <duration>', 'renew the server certificate (signed by DATA/tls/ca.key) once it expires within this long; checked at start and every 6 h (default 30d) (env FERRY_SERVER_CERT_RENEW_BEFORE)')
    .exitOverride()
    .addHelpText('after', `
Starts with no other setup: the data dir is created, the database migrated. It listens on
loopback unless --listen says otherwise, and serves TLS: on the first start without
\`ferry-coordinator init\` it makes the CA, server certificate and first admin token itself
(DATA/tls/, DATA/admin.token) and prints the CA fingerprint. --insecure serves plaintext with no
tokens, on a loopback address only (development). SIGTERM/SIGINT shut it down cleanly; SIGHUP
(systemctl reload ferry-coordinator) serves DATA/tls/server.{crt,key} again without a restart.

Examples:
  ferry-coordinator init --data /var/lib/ferry && ferry-coordinator --data /var/lib/ferry
  ferry-coordinator --data ./data --listen 0.0.0.0:7420 --log-level debug
  ferry-coordinator --data ./data --insecure      # development: plaintext on loopback, no tokens
  ferry-coordinator --data ./data --metrics-listen 127.0.0.1:9464   # Prometheus scrapes /metrics

Trust: ferry-coordinator init --data DIR [--san HOST_OR_IP]… creates the CA, server certificate and first
admin token (see ferry-coordinator init --help). The server certificate (825 days) is renewed by the
running coordinator within --server-cert-renew-before of expiry when DATA/tls/ca.key is here;
ferry-coordinator renew-cert --data DIR [--san HOST_OR_IP]… renews it now, adding names, then SIGHUP
serves it (see ferry-coordinator renew-cert --help).

As a service: ferry-coordinator install [--listen HOST:PORT] [--data DIR] [--dry-run]; uninstall [--purge]
(see ferry-coordinator install --help).`);
}

/** `ferry-coordinator …` (install and uninstall are added by ops/ferry-coordinator.ts): runs and returns the exit code. */
export async function runCoordinator(argv: string[]): Promise<number> {
  // Everything the coordinator writes (store, logs, revisions, keys) is its own: 0600 files, 0700 dirs.
  process.umask(0o077);
  // ---- `ferry-coordinator init` (CA, server certificate, first admin token) ----
  if (argv[2] === 'init') {
    return runInitCommand(argv.slice(3), process.env, s => void process.stdout.write(s), s => void process.stderr.write(s));
  }
  // ---- `ferry-coordinator renew-cert` (a new server certificate now, more names) ----
  if (argv[2] === 'renew-cert') {
    return runRenewCertCommand(argv.slice(3), process.env, s => void process.stdout.write(s), s => void process.stderr.write(s));
  }
  // ---- `ferry-coordinator backup` (a consistent copy of the database, online) ----
  if (argv[2] === 'backup') {
    return runBackupCommand(argv.slice(3), s => void process.stdout.write(s), s => void process.stderr.write(s));
  }
  const program = coordinatorCommand();
  try {
    program.parse(argv);
  } catch (err) {
    return err instanceof CommanderError && err.exitCode === 0 ? 0 : 2;
  }
  const opts = program.opts<{ data?: string; listen?: string; config?: string; logLevel?: string; heartbeatInterval?: string; agentTimeout?: string; maxHeartbeatRate?: string; metricsListen?: string; webhookRetryBase?: string; auditRetention?: string; insecure?: boolean; serverCertRenewBefore?: string; refusedCallLimit?: string;
    connectTimeout?: string; requestTimeout?: string; idleTimeout?: string; maxConnections?: string; maxConnectionsPerAddress?: string; webhookAllow?: string;
    maxStreamsPerCaller?: string; maxDownloadsPerHost?: string; downloadStallTimeout?: string; publicUrl?: string;
    store?: string; storePasswordFile?: string; storeSslmode?: string; storeCaFile?: string }>();
  const fromCli = (name: string) => program.getOptionValueSource(name) === 'cli';
  let config;
  try {
    config = resolveCoordinatorConfig({
      ...(opts.data && { data: opts.data }),
      ...(opts.store !== undefined && { store: opts.store }),
      ...(opts.storePasswordFile !== undefined && { storePasswordFile: opts.storePasswordFile }),
      ...(opts.storeSslmode !== undefined && { storeSslmode: opts.storeSslmode }),
      ...(opts.storeCaFile !== undefined && { storeCaFile: opts.storeCaFile }),
      ...(fromCli('listen') && { listen: opts.listen }),
      ...(opts.config && { config: opts.config }),
      ...(fromCli('logLevel') && { logLevel: opts.logLevel }),
      ...(fromCli('heartbeatInterval') && { heartbeatInterval: opts.heartbeatInterval }),
      ...(opts.agentTimeout && { agentTimeout: opts.agentTimeout }),
      ...(opts.maxHeartbeatRate !== undefined && { maxHeartbeatRate: opts.maxHeartbeatRate }),
      ...(opts.metricsListen && { metricsListen: opts.metricsListen }),
      ...(opts.webhookRetryBase && { webhookRetryBase: opts.webhookRetryBase }),
      ...(opts.auditRetention !== undefined && { auditRetention: opts.auditRetention }),
      ...(opts.insecure && { insecure: true }),
      ...(opts.serverCertRenewBefore && { serverCertRenewBefore: opts.serverCertRenewBefore }),
      ...(opts.refusedCallLimit !== undefined && { refusedCallLimit: opts.refusedCallLimit }),
      ...(opts.connectTimeout !== undefined && { connectTimeout: opts.connectTimeout }),
      ...(opts.requestTimeout !== undefined && { requestTimeout: opts.requestTimeout }),
      ...(opts.idleTimeout !== undefined && { idleTimeout: opts.idleTimeout }),
      ...(opts.maxConnections !== undefined && { maxConnections: opts.maxConnections }),
      ...(opts.maxConnectionsPerAddress !== undefined && { maxConnectionsPerAddress: opts.maxConnectionsPerAddress }),
      ...(opts.maxStreamsPerCaller !== undefined && { maxStreamsPerCaller: opts.maxStreamsPerCaller }),
      ...(opts.maxDownloadsPerHost !== undefined && { maxDownloadsPerHost: opts.maxDownloadsPerHost }),
      ...(opts.downloadStallTimeout !== undefined && { downloadStallTimeout: opts.downloadStallTimeout }),
      ...(opts.webhookAllow !== undefined && { webhookAllow: opts.webhookAllow }),
      ...(opts.publicUrl !== undefined && { publicUrl: opts.publicUrl }),
    }, process.env, process.cwd());
  } catch (err) {
    process.stderr.write(`ferry-coordinator: ${describeError(err)}\n`);
    return isFerryError(err, 'INVALID_ARGUMENT') ? 2 : 1;
  }
  const log = createLogger({ level: config.logLevel, file: logFileIn(config.dataDir, 'ferry-coordinator.log'), console: true });
  let running: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  // SIGHUP (systemctl reload): serve DATA/tls/server.{crt,key} again, e.g. after renew-cert. Handled
  // from here on, so a reload during start does not end the process (Node's default for SIGHUP).
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading the server certificate', { component: 'security' });
    if (running) void running.reloadTls();
    else log.warn('still starting: the server certificate is read as the coordinator starts', { component: 'security' });
  });
  running = await startCoordinator(config, log);
  if (running.initialised) process.stdout.write(renderInit(running.initialised));
  // Machines read this line to find the port when --listen ends in :0.
  process.stdout.write(`ferry-coordinator listening on ${running.address} (${running.transport === 'tls' ? `TLS, CA ${running.caCert}` : 'plaintext, --insecure'})\n`);
  if (running.metricsAddress) process.stdout.write(`ferry-coordinator metrics on http://${running.metricsAddress}/metrics\n`);
  await new Promise<void>(resolve => {
    const stop = (sig: string) => {
      log.info('shutting down', { component: 'server', signal: sig });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await running.stop();
  return 0;
}
