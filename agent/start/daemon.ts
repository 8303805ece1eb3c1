import { keepRenewing } from '../link/renew.js';
import { settleSoon } from '../settle.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentEnvironment, StartConfig } from '../config.js';
import { AGENT_DEFAULTS } from '../config.js';
import { describeError, isFerryError } from '../../common/errors.js';
import { HealthMonitor } from '../health/monitor.js';
import { HostProbe, systemInformation } from '../health/probes.js';
import { alarmsFromWire, stateToWire } from '../../common/health/wire.js';
import { ChildProcessRunner } from '../lifecycle/process-runner.js';
import { systemClock } from '../lifecycle/types.js';
import { NssUserDirectory } from '../lifecycle/users.js';
import { sampleFacts } from '../link/facts.js';
import { CommandStore, Outbox } from '../link/outbox.js';
import { RevisionCache, retainedDigests } from '../link/revision-cache.js';
import { REFUSED_BACKOFF } from '../link/backoff.js';
import { Session } from '../link/session.js';
import { fallbackTransport, grpcRevisionTransport } from '../link/transport.js';
import { httpRevisionTransport } from '../link/http-transport.js';
import { DeploymentWorker } from '../link/worker.js';
import { type Logger, closeLogger, createAgentLogger } from '../log.js';
import type { AgentMetrics } from '../metrics.js';
import { type MetricsServer, startMetricsServer } from '../../common/metrics-http.js';
import { layoutFor } from '../state/layout.js';
import { FERRY_VERSION } from '../../common/version.js';
import { resolveHostId } from './host-id.js';
import { channelCredentials, identityFiles, loadAgentIdentity } from '../link/identity.js';
import { Endpoints } from '../link/endpoints.js';
import { recoverAtStart } from './recover.js';
import { isSea } from 'node:sea';
import { SelfUpgrade, upgradeAtStart } from '../upgrade/self-upgrade.js';

/**
 * `ferry-agent start`: wires the link (session, worker, outbox, revision cache) to the lifecycle
 * executor and runs until SIGTERM/SIGINT. On a signal it stops taking commands, cancels the
 * running deployment (its hook's process group is killed), puts that result in the outbox, sends
 * it, closes the stream and exits 0. Queued commands stay on disk and run after the next start.
 * A second signal exits at once.
 */
export async function runDaemon(cfg: StartConfig, env: AgentEnvironment): Promise<number> {
  const layout = layoutFor(cfg.rootDir);
  await fs.mkdir(layout.root, { recursive: true, mode: 0o755 });
  const logger = createAgentLogger({ level: cfg.logLevel, dir: path.join(layout.root, 'logs') });
  const hostId = await resolveHostId(layout.root, cfg.hostId);
  const base = logger.child({ host_id: hostId });
  const log = base.child({ component: 'daemon' });
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      log.warn('second signal: exiting at once', { signal: sig });
      process.exit(1);
    }
    log.info('stopping: cancelling the running deployment, if any', { signal: sig });
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    log.info('ferry-agent starting', { version: FERRY_VERSION, root_dir: layout.root, coordinator: cfg.coordinators.join(','), pid: process.pid });
    return await serve(cfg, env, hostId, base, stop.signal, () => stop.abort());
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await closeLogger(logger);
  }
}

async function serve(cfg: StartConfig, env: AgentEnvironment, hostId: string, base: Logger, stopSignal: AbortSignal, requestStop: () => void): Promise<number> {
  const layout = layoutFor(cfg.rootDir);
  const log = base.child({ component: 'daemon' });
  const stateDir = path.join(layout.root, 'agent-state');
  const outbox = new Outbox(stateDir);
  const commands = new CommandStore(stateDir);
  const factsReady = sampleFacts(layout.root, base.child({ component: 'facts' }));
  let rerun;
  try {
    rerun = await recoverAtStart({ layout, commands, outbox, clock: systemClock, log: base.child({ component: 'recovery' }), signal: stopSignal });
  } catch (err) {
    if (stopSignal.aborted && isFerryError(err, 'LOCKED')) return 0;
    throw err;
  }
  const facts = await factsReady;
  const upgradeLog = base.child({ component: 'upgrade' });
  const confirmUpgrade = await upgradeAtStart(layout.root, upgradeLog);
  // The gauges read the session and the monitor at scrape time (both are created below).
  let session: Session | undefined;
  let monitor: HealthMonitor | undefined;
  // Metrics only when served (--metrics-listen): prom-client and its default collectors (an event
  // loop delay timer, a GC observer) are neither loaded nor running in an agent nobody scrapes.
  const metrics: AgentMetrics | undefined = cfg.metricsListen
    ? new (await import('../metrics.js')).AgentMetrics({ connected: () => session?.isRegistered ?? false, alarms: () => monitor?.states() ?? [] })
    : undefined;
  // Read once: the HTTPS downloads present the PEMs, gRPC the credentials made from them.
  let identity = await loadAgentIdentity(layout.root);
  let credentials = channelCredentials(identity);
  log.info(credentials ? 'enrolled: mutual TLS to the coordinator' : 'not enrolled: plaintext to the coordinator (it must run --insecure)', { tls_dir: identityFiles(layout.root).dir });
  const currentCredentials = () => credentials;
  // A renewed certificate takes effect on the next fetch (and the next connect).
  // Several coordinator replicas: downloads, renewal and upgrades go to the one the session is on.
  const endpoints = new Endpoints(cfg.coordinators);
  const onReplica = () => endpoints.current();
  const grpcTransport = grpcRevisionTransport(onReplica, hostId, currentCredentials);
  const cacheLog = base.child({ component: 'revisions' });
  const transport = fallbackTransport(httpRevisionTransport(onReplica, hostId, () => identity), grpcTransport, {
    fellBack: err => cacheLog.warn('revision download over HTTP got no answer from the coordinator; using FetchRevision (gRPC) instead', { reason: describeError(err) }),
    opened: (via, digest, offset) => {
      metrics?.transferStarted(via);
      cacheLog.info('revision transfer started', { revision_digest: digest, transport: via, offset });
    },
  });
  const cache = new RevisionCache({
    dir: path.join(layout.root, 'revisions'), transport, maxBytesPerSecond: cfg.maxDownloadRate, onBytes: n => metrics?.downloaded(n),
    onFetched: i => cacheLog.info('revision bytes received', {
      revision_digest: i.digest, offset: i.offset, bytes: i.bytes, duration_ms: Math.round(i.ms), mib_per_s: Math.round(i.bytes / 1048576 / Math.max(i.ms / 1000, 0.001)),
    }),
    onRetry: i => cacheLog.warn('revision transfer interrupted; resuming', {
      revision_digest: i.digest, offset: i.offset, attempt: i.attempt, delay_ms: i.delayMs, reason: describeError(i.error),
    }),
  });
  try {
    // What a crash or a full disk left behind: temp files of the outbox and the command store, and
    // partial downloads nothing will resume (those of commands re-run now are kept).
    const temps = (await outbox.pruneTemp()) + (await commands.pruneTemp());
    const resuming = new Set(rerun.map(c => c.digest));
    const keep = await retainedDigests(layout);
    for (const digest of resuming) keep.add(digest);
    const removed = await cache.prune(keep, resuming);
    if (temps + removed.length > 0) log.info('removed leftovers of an interrupted run', { temp_files: temps, cached_files: removed.length });
  } catch (err) {
    log.warn('could not remove leftovers of an interrupted run', { reason: describeError(err) });
  }
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>, what: string) => {
    const q = p.catch(err => log.error(`${what} failed`, { reason: describeError(err) })).finally(() => pending.delete(q));
    pending.add(q);
  };
  // The session and the worker refer to each other through these two closures only.
  const worker = new DeploymentWorker({
    layout, cache, outbox, commands,
    send: m => void session?.send(m),
    sendResult: r => void session?.send({ result: r }, { queue: false }),
    executor: {
      runner: new ChildProcessRunner(), users: new NssUserDirectory(), clock: systemClock,
      options: {
        retention: cfg.retention, killGraceMs: cfg.killGraceMs, outputGraceMs: cfg.outputGraceMs, outputsLeftOpen: 'warn',
        baseEnv: env.hookEnv, agentUid: env.uid, deploymentsLogRotateBytes: AGENT_DEFAULTS.deploymentsLogRotateBytes,
      },
    },
    maxBundleBytes: cfg.maxBundleBytes,
    logger: base.child({ component: 'worker' }),
    onReport: r => {
      metrics?.deploymentReported(r);
      settleSoon();
    },
    ackCommand: id => void session?.send({ commandAck: { deploymentId: id } }, { queue: false }),
  });
  // Health alarms: nothing is sampled until the coordinator sends SetAlarms with some.
  const healthLog = base.child({ component: 'health' });
  monitor = new HealthMonitor({
    probe: new HostProbe({ system: systemInformation(), runner: new ChildProcessRunner(), env: env.hookEnv, killGraceMs: 1000 }),
    clock: systemClock,
    onChange: () => session?.heartbeatNow(),
    logger: healthLog,
  });
  const resendOutbox = async () => {
    const { results, unreadable } = await outbox.list();
    for (const file of unreadable) log.error('a result in the outbox cannot be read; it is not sent', { file });
    for (const r of results) session?.send({ result: r }, { queue: false });
    if (results.length > 0) log.info('sent unacknowledged results', { count: results.length });
  };
  const selfUpgrade = new SelfUpgrade({
    root: layout.root, coordinator: onReplica, identity: () => identity, exe: process.execPath, isBinary: isSea(),
    ...(env.supervisor && { supervisor: env.supervisor }),
    busyWith: () => worker.busyWith(), stopTaking: () => worker.stopTaking(),
    send: m => void session?.send({ upgrade: m }, { queue: false }), exit: requestStop, log: upgradeLog,
  });
  session = new Session({
    endpoints,
    ...(env.refusedRetryBaseMs !== undefined && { refusedBackoff: { baseMs: env.refusedRetryBaseMs, capMs: REFUSED_BACKOFF.capMs } }),
    ...(credentials && { credentials: currentCredentials }),
    register: () => ({
      hostId, hostname: os.hostname(), tags: { ...cfg.tags }, zone: cfg.zone, agentVersion: FERRY_VERSION, facts,
      runningDeploymentId: worker.runningDeploymentId(), acksCommands: true,
    }),
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    runningDeploymentId: () => worker.runningDeploymentId(),
    alarmStates: () => monitor.states().map(stateToWire),
    handlers: {
      registered: () => {
        settleSoon();
        confirmUpgrade?.();
        track(resendOutbox(), 're-sending the outbox');
      },
      upgrade: c => selfUpgrade.handle(c),
      deploy: c => track(worker.accept(c), 'accepting a deploy command'),
      cancel: c => worker.cancel(c.deploymentId, c.reason),
      setAlarms: m => {
        const { alarms, intervalMs } = alarmsFromWire(m);
        monitor.set(alarms, intervalMs);
      },
      ack: id => track(outbox.ack(id).then(had => log.debug(had ? 'result acknowledged' : 'repeated ack', { deployment_id: id })), 'removing an acknowledged result'),
    },
    logger: base.child({ component: 'session' }),
    clock: systemClock,
  });
  let metricsServer: MetricsServer | undefined;
  if (cfg.metricsListen && metrics) {
    metricsServer = await startMetricsServer(cfg.metricsListen, metrics.registry);
    log.info(`metrics listening on http://${metricsServer.address}/metrics`, { address: metricsServer.address });
  }
  for (const c of rerun) worker.resume(c);
  session.start();
  const renewal = credentials && keepRenewing({
    coordinator: onReplica, root: layout.root, hostId, renewBeforeMs: cfg.renewBeforeMs, log: base.child({ component: 'security' }),
    renewed: async () => {
      identity = await loadAgentIdentity(layout.root);
      credentials = channelCredentials(identity);
    },
  });
  await new Promise<void>(resolve => (stopSignal.aborted ? resolve() : stopSignal.addEventListener('abort', () => resolve(), { once: true })));
  await Promise.all([worker.shutdown('the agent is stopping (SIGTERM)'), monitor.stop()]);
  renewal?.stop();
  await session.stop();
  await Promise.allSettled([...pending]);
  grpcTransport.close();
  await metricsServer?.close();
  log.info('ferry-agent stopped');
  return 0;
}
