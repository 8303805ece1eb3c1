import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { loadFerryProto, SERVER_KEEPALIVE_OPTIONS } from '../proto/load.js';
import { AgentRegistry } from './agents/registry.js';
import { HeartbeatPace } from './agents/pace.js';
import { agentService } from './api/agent-service.js';
import { controlService } from './api/control-service.js';
import { Changes } from './changes.js';
import { downloadLimit, streamLimit } from './security/stream-limits.js';
import type { CoordinatorConfig } from './config.js';
import { type Clock, type Context, type IdSource, randomIds, systemClock } from './context.js';
import { KeyedMutex, detached } from './async.js';
import { RESTART_GRACE_MS } from './services/liveness.js';
import type { Logger } from './log.js';
import { CoordinatorMetrics } from './metrics.js';
import { metricsSource } from './metrics-source.js';
import { type MetricsServer, startMetricsServer } from '../common/metrics-http.js';
import { RevisionStore } from './revisions/revision-store.js';
import { WebhookWorker, releaseClaimsOfDeadRun } from './notify/webhook-worker.js';
import { guardedFetch } from './notify/destination.js';
import { Scheduler } from './scheduler/scheduler.js';
import { openStore } from './store/sqlite-store.js';
import type pg from 'pg';
import { openPostgres } from './store/open.js';
import { Leadership, replicaId } from './replicas/leadership.js';
import { ensureSharedAuthority } from './replicas/shared-ca.js';
import { pgGroupLock } from './replicas/group-lock.js';
import { type StoreWatch, watchStore } from './replicas/store-watch.js';
import { PgBus } from './replicas/bus.js';
import { afterTransaction } from './store/pg-db.js';
import type { PgConnection } from './store/pg-config.js';
import { resendInFlight } from './services/dispatch.js';
import { recordRemoteAlarmStates, sendAlarms } from './services/alarms.js';
import { PgRevisions } from './store/pg-revisions.js';
import type { Store } from './store/store.js';
import type { SharedRevisions } from './revisions/shared-revisions.js';
import { checkDatabaseFile, lockDataDir, openVerifiedStore } from './store/data-dir.js';
import type { HostLock } from '../common/pid-lock.js';
import { authInterceptor } from './security/auth.js';
import { AuditRetention } from './security/audit-retention.js';
import { type AuditEntry, REFUSAL_FOLD_MS, boundEntry, overflowEntry } from './domain/audit.js';
import { AddressCounter } from './security/rate-limit.js';
import { FerryError, describeError } from '../common/errors.js';
import { type InitResult, initCoordinator } from './security/init.js';
import { chooseTransport, tlsIdentity, tlsPresent } from './security/transport.js';
import { listenShared } from './net/listener.js';
import { secureDataDir } from './security/data-dir.js';
import { describeServerCert, keepServerCertificateFresh } from './security/server-cert.js';
import { revisionDownloads } from './revisions/http-download.js';
import { AgentReleases } from './agent-downloads/releases.js';
import { UpgradeListeners, relayUpgrade } from './services/agent-upgrade.js';
import { agentDownloads } from './agent-downloads/http-agent.js';
import { withEncodedChunks } from './revisions/chunk-frames.js';
import { consoleRoutes } from './ui/http.js';
import { LagClock } from './agents/lag-clock.js';

export interface RunningCoordinator {
  /** The address actually bound (port 0 resolved). */
  address: string;
  /** Where GET /metrics is served (port 0 resolved); absent without --metrics-listen. */
  metricsAddress?: string;
  /** TLS (with DATA/tls/) or plaintext (--insecure, loopback only). */
  transport: 'tls' | 'plaintext';
  caCert?: string;
  /** Set when this start made the CA and first admin token (no `ferry-coordinator init` before). */
  initialised?: InitResult;
  context: Context;
  /**
   * Reads DATA/tls/server.{crt,key} again and serves them from the next handshake (SIGHUP). A bad
   * file is logged as an error naming it, and the certificate in use stays. Resolves either way.
   */
  reloadTls(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Appends to the audit log and wakes `ferry audit --follow`; refusals are logged too. A failed write
 * is logged, never thrown at the call. Every string is bounded and its control characters escaped;
 * past `perAddress.limit` refused or failed calls from one address in a minute, the rest fold into
 * one record per address (and are no longer logged one by one).
 */
async function recordAudit(ctx: Context, perAddress: AddressCounter, raw: AuditEntry): Promise<void> {
  let entry = boundEntry(raw);
  if (entry.outcome !== 'ok' && perAddress.over(entry.peer, ctx.clock.now())) entry = overflowEntry(entry, perAddress.limit);
  else if (entry.outcome === 'refused') {
    ctx.log.warn('call refused', { component: 'security', method: entry.action, peer: entry.peer, actor: entry.actor, reason: entry.message });
  }
  try {
    await ctx.store.appendAudit(entry, REFUSAL_FOLD_MS);
    ctx.changes.audit();
  } catch (err) {
    ctx.log.error('cannot write the audit log', { component: 'security', action: entry.action, actor: entry.actor, error: describeError(err) });
  }
}

/** TLS errors that are not an attempt to talk to Ferry (a port probe that connects and hangs up). */
const NOT_AN_ATTEMPT = new Set(['ECONNRESET', 'EPIPE']);

/** Audits a failed TLS handshake (a plaintext client, a client that does not trust the CA): it never reaches the interceptor. */
function auditHandshakeFailure(audit: (e: AuditEntry) => void, ctx: Context, err: NodeJS.ErrnoException, socket: TLSSocket): void {
  if (NOT_AN_ATTEMPT.has(err.code ?? '') || socket.remoteAddress === undefined) return;
  audit({
    at: new Date(ctx.clock.now()).toISOString(), actor: 'anonymous', role: '', action: 'tls-handshake',
    peer: `${socket.remoteAddress}:${socket.remotePort ?? 0}`, outcome: 'refused', code: err.code ?? 'TLS_ERROR',
    message: `TLS handshake failed: ${(err as { reason?: string }).reason ?? err.message} (a plaintext client, or a client that does not trust this coordinator's CA)`,
    target: {},
  });
}

/**
 * Node runs an http.Server's header and request timeouts only for servers it listen()ed; this one is
 * fed sockets by the shared listener. So (docs/security.md): a connection silent for idleTimeoutMs is
 * closed, and each request's headers must have arrived within requestTimeoutMs of the connection
 * (or of the previous response) — a client trickling one byte at a time is dropped.
 */
function boundHttpConnections(server: http.Server, config: Pick<CoordinatorConfig, 'requestTimeoutMs' | 'idleTimeoutMs'>): (socket: Socket) => void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const arm = (socket: Socket) => deadlines.set(socket, setTimeout(() => socket.destroy(), config.requestTimeoutMs).unref());
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    clearTimeout(deadlines.get(req.socket));
    res.once('finish', () => {
      if (!req.socket.destroyed) arm(req.socket);
    });
  });
  return socket => {
    arm(socket);
    socket.setTimeout(config.idleTimeoutMs, () => socket.destroy());
    socket.once('close', () => clearTimeout(deadlines.get(socket)));
  };
}

export interface StartOptions {
  clock?: Clock;
  ids?: IdSource;
}

/** Assembles the coordinator: store, revision store, scheduler, gRPC services. */
export async function startCoordinator(config: CoordinatorConfig, log: Logger, opts: StartOptions = {}): Promise<RunningCoordinator> {
  await fs.mkdir(config.dataDir, { recursive: true });
  // One coordinator per data dir, and never on a damaged or emptied database (store/data-dir.ts).
  const dataLock = await lockDataDir(config.dataDir);
  try {
    if (config.store.engine === 'sqlite') checkDatabaseFile(config.dataDir);
    return await startOnLockedDataDir(config, log, opts, dataLock);
  } catch (err) {
    await dataLock.release();
    throw err;
  }
}

async function startOnLockedDataDir(config: CoordinatorConfig, log: Logger, opts: StartOptions, dataLock: HostLock): Promise<RunningCoordinator> {
  // Opened first: the first start's admin token is written to it (security/init.ts).
  const { store, shared, pool } = await openConfiguredStore(config, log);
  try {
    const replicas = pool !== undefined && config.store.engine === 'postgres' ? { pool, connection: config.store.connection } : undefined;
    return await startWithStore(config, log, opts, dataLock, store, shared, replicas);
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** How long past the usual timeout a host whose replica is gone may stay silent: the agent's keepalive (30 s) and a reconnect. */
const REPLICA_GONE_GRACE_MS = 35_000;

/** On PostgreSQL: the pool, and how to open the change bus' own listening connection. */
interface Replicas {
  pool: pg.Pool;
  connection: PgConnection;
}

/**
 * Joins the other replicas on the database: change names both ways over LISTEN/NOTIFY (replicas/bus.ts), a
 * host's command relayed to the replica holding its stream (agents/registry.ts) and sent from the store
 * there, alarm states reported to any replica known to all.
 */
async function joinReplicas(ctx: Context, replicas: Replicas, leadership: Leadership): Promise<{ bus: PgBus; storeWatch: StoreWatch }> {
  const c = replicas.connection;
  const bus = new PgBus(replicas.pool, {
    host: c.host, port: c.port, user: c.user, database: c.database, ssl: c.ssl, ...(c.password !== undefined && { password: c.password }),
  }, {
    replicaId: leadership.holder,
    onError: err => ctx.log.warn('change bus: PostgreSQL connection lost or unreachable; retrying', { component: 'replicas', error: describeError(err) }),
  });
  await bus.start();
  ctx.changes.connect(bus);
  ctx.registry.spanReplicas({
    relay: hostId => ctx.changes.hostCommand(hostId), wall: () => ctx.clock.now(), monotonic: ctx.monotonic,
    // Two intervals: the holder writes every interval, and a cut-off holder closes its streams after the
    // agent timeout (replicas/store-watch.ts): its agents reconnect elsewhere before they are judged lost here.
    flushLagMs: () => 2 * ctx.pace.intervalMs, floor: ctx.startedMono + RESTART_GRACE_MS - ctx.limits.agentTimeoutMs,
    // An agent on a replica that is gone notices within its keepalive (10 s + 20 s) and reconnects elsewhere.
    replicaGoneGraceMs: REPLICA_GONE_GRACE_MS,
  });
  // A host with a command waiting (or, after the bus reconnected, every host here): sent from the store if its stream is here.
  const refresh = (hostId: string): void => void detached(async () => {
    try {
      if (!ctx.registry.local(hostId)) return;
      await sendAlarms(ctx, hostId);
      await resendInFlight(ctx, hostId);
    } catch (err) {
      ctx.log.error('sending a host its commands failed', { component: 'replicas', host_id: hostId, error: describeError(err) });
    }
  });
  ctx.changes.onHostCommand(hostId => {
    for (const id of hostId === undefined ? ctx.registry.localHostIds() : [hostId]) refresh(id);
  });
  ctx.changes.onShared('alarms', data => recordRemoteAlarmStates(ctx, data));
  // `ferry hosts upgrade` through any replica (services/agent-upgrade.ts): its command to the replica holding
  // the host's stream, the agent's answers and its registration back to the one that waits for them.
  ctx.changes.onShared('upgrade', data => relayUpgrade(ctx, data));
  ctx.changes.onShared('upgrade-answer', data => {
    const d = data as { hostId?: unknown; answer?: { upgradeId?: unknown; status?: unknown; message?: unknown } } | null;
    const a = d?.answer;
    if (typeof d?.hostId === 'string' && typeof a?.upgradeId === 'string' && typeof a.status === 'string' && typeof a.message === 'string') {
      ctx.upgrades?.answered(d.hostId, { upgradeId: a.upgradeId, status: a.status, message: a.message });
    }
  });
  ctx.changes.onShared('registered', data => {
    const d = data as { hostId?: unknown; version?: unknown; replica?: unknown } | null;
    if (typeof d?.hostId !== 'string') return;
    if (typeof d.replica === 'string') ctx.registry.registeredOn(d.hostId, d.replica);
    if (typeof d.version === 'string') ctx.upgrades?.registered(d.hostId, d.version);
  });
  // A deployment changed on another replica (created, stopped, a host's result): the scheduling one plans now, not at its next tick.
  bus.onNames(names => {
    if (leadership.valid() && names.some(n => n.startsWith('deployment:'))) ctx.kick();
  });
  // Cut off from the database for as long as an agent may be silent: its agents move to another replica.
  return { bus, storeWatch: watchStore(ctx, replicas.pool, ctx.limits.agentTimeoutMs, leadership.holder) };
}

/**
 * The store the configuration names: SQLite in the data dir (checked, store/data-dir.ts), or PostgreSQL,
 * whose revision bytes every replica shares (store/pg-revisions.ts, docs/high-availability.md).
 */
async function openConfiguredStore(config: CoordinatorConfig, log: Logger): Promise<{ store: Store; shared?: SharedRevisions; pool?: pg.Pool }> {
  if (config.store.engine === 'sqlite') {
    const store = openVerifiedStore(config.dataDir, openStore);
    try {
      // The one coordinator on this store (the data-dir lock): every webhook delivery claim is a dead run's, so
      // those deliveries are tried again at once. Not on PostgreSQL, where live replicas hold claims they are trying.
      await releaseClaimsOfDeadRun(store, log);
    } catch (err) {
      await store.close();
      throw err;
    }
    return { store };
  }
  const pgStore = await openPostgres(config.store.connection);
  log.info('store: PostgreSQL', { component: 'store', url: config.store.connection.display, migrations_applied: pgStore.appliedMigrations.join(',') });
  return { store: pgStore, shared: new PgRevisions(pgStore.pool), pool: pgStore.pool };
}

async function startWithStore(config: CoordinatorConfig, log: Logger, opts: StartOptions, dataLock: HostLock, store: Store, shared: SharedRevisions | undefined, replicas: Replicas | undefined): Promise<RunningCoordinator> {
  const transport = chooseTransport({ dataDir: config.dataDir, listen: config.listen, insecure: config.insecure, tlsPresent: await tlsPresent(config.dataDir) });
  let initialised: InitResult | undefined;
  const leaderId = replicas && replicaId();
  if (transport.kind === 'tls' && replicas) {
    // Several replicas: one CA for all of them, kept in the database (replicas/shared-ca.ts).
    initialised = await ensureSharedAuthority(replicas.pool, {
      dataDir: config.dataDir, replica: leaderId!, now: (opts.clock ?? systemClock).now(), log,
      init: () => initCoordinator(config.dataDir, [], (opts.clock ?? systemClock).now(), undefined, store),
    });
    if (initialised) log.info('created the CA, server certificate and first admin token', { component: 'security', ca_fingerprint: initialised.caFingerprint, token_file: initialised.adminTokenFile });
  } else if (transport.kind === 'tls' && transport.init) {
    // First start without `ferry-coordinator init`: make the CA and the first admin token now.
    initialised = await initCoordinator(config.dataDir, [], (opts.clock ?? systemClock).now(), undefined, store);
    log.info('created the CA, server certificate and first admin token', { component: 'security', ca_fingerprint: initialised.caFingerprint, token_file: initialised.adminTokenFile });
  }
  const identity = transport.kind === 'tls' ? await tlsIdentity(transport.files) : undefined;
  const tightened = await secureDataDir(config.dataDir);
  if (tightened.length > 0) log.warn('the data dir was readable by other users: made it 0700 and its files 0600', { component: 'security', paths: tightened.join(',') });
  let scheduler: Scheduler | undefined;
  // On PostgreSQL every replica serves; the one holding the coordinator lease schedules (replicas/leadership.ts).
  const leadership = replicas && new Leadership(replicas.pool, log, { id: leaderId!, onChange: scheduling => { if (scheduling) scheduler?.kick(); } });
  // Liveness and command-ack deadlines do not count time this event loop was behind (agents/lag-clock.ts).
  const lagClock = new LagClock().start();
  const ctx: Context = {
    store,
    ...(leadership && { leader: leadership, replicaId: leadership.holder }),
    // Several replicas: a group's lock is also a PostgreSQL transaction holding an advisory lock (replicas/group-lock.ts),
    // and change notifications wait for the transaction they were made in to end.
    groups: new KeyedMutex(replicas && pgGroupLock(replicas.pool)),
    registry: new AgentRegistry(),
    pace: new HeartbeatPace({ intervalMs: config.heartbeatIntervalMs, timeoutMs: config.agentTimeoutMs, maxPerSecond: config.maxHeartbeatRate }),
    changes: new Changes(replicas ? afterTransaction : undefined),
    revisions: new RevisionStore(config.dataDir, undefined, shared),
    log,
    clock: opts.clock ?? systemClock,
    ids: opts.ids ?? randomIds,
    limits: {
      logBytesPerHost: config.logBytesPerHost,
      maxRevisionBytes: config.maxRevisionBytes,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      agentTimeoutMs: config.agentTimeoutMs,
    },
    kick: () => scheduler?.kick(),
    startedAt: (opts.clock ?? systemClock).now(),
    monotonic: lagClock.now,
    startedMono: lagClock.now(),
    alarmStates: new Map(),
    // Node's own metrics (prom-client's default collectors: an event-loop-delay monitor waking every
    // 10 ms, a GC observer) only when they are served: an idle coordinator with no agents went 1.3 → 0.7 % CPU.
    metrics: new CoordinatorMetrics(metricsSource(() => ctx), { defaultMetrics: config.metricsListen !== undefined }),
    ...(transport.kind === 'tls' && { tls: transport.files }),
    agentReleases: new AgentReleases(path.join(config.dataDir, 'agent')),
    upgrades: new UpgradeListeners(),
    webhookAllow: config.webhookAllow,
    // Streams per caller and downloads per host (docs/security.md, "Streams and downloads").
    streams: streamLimit(config.maxStreamsPerCaller),
    downloads: { perHost: downloadLimit(config.maxDownloadsPerHost), stallTimeoutMs: config.downloadStallTimeoutMs },
  };
  scheduler = new Scheduler(ctx);
  const perAddress = new AddressCounter(config.refusedCallLimit);
  // Never rejects (recordAudit logs what it cannot write); SQLite writes the record before this returns.
  const audit = (entry: AuditEntry): void => void recordAudit(ctx, perAddress, entry);
  // Refused calls per address, counted alike for gRPC and the web console (one limit on token guessing).
  const refusals = new AddressCounter(config.refusedCallLimit);
  const proto = loadFerryProto();
  const server = new grpc.Server({
    ...SERVER_KEEPALIVE_OPTIONS,
    'grpc.max_receive_message_length': 8 * 1024 * 1024,
    // No 'grpc-node.flow_control_window' here: grpc-js 1.14 reads it only on clients. The window that
    // matters for revision downloads is the agent's (TRANSFER_CLIENT_OPTIONS, docs/design/stack.md §3).
    // An HTTP/2 connection with no call open for this long is closed (docs/security.md); an agent's Connect stream keeps its own open.
    'grpc.max_connection_idle_ms': config.idleTimeoutMs,
    interceptors: [authInterceptor(transport.kind, store, () => ctx.clock.now(), audit, refusals)],
  });
  server.addService(proto.ferry.v1.ControlService.service, controlService(ctx));
  // FetchRevision sends chunks read straight into their wire encoding (revisions/chunk-frames.ts).
  server.addService(withEncodedChunks(proto.ferry.v1.AgentService.service), agentService(ctx, audit));
  // One port for both protocols (net/listener.ts): TLS is terminated there, so grpc-js gets
  // plaintext-credential connections that are TLS sockets underneath (it still sees client certificates).
  const grpcConnections = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const revisions = revisionDownloads(ctx, transport.kind, audit);
  const agentFiles = agentDownloads({
    dir: path.join(config.dataDir, 'agent'), ...(ctx.tls && { caCert: ctx.tls.caCert }),
    log: (message, fields) => ctx.log.warn(message, { component: 'agent-downloads', ...fields }),
  });
  // The web console (ui/http.ts) shares the HTTP/1.1 side of the port with the downloads.
  const webConsole = consoleRoutes({ ctx, mode: transport.kind, audit, refusals });
  const downloads = http.createServer((req, res) => {
    if (!webConsole(req, res) && !agentFiles(req, res)) revisions(req, res);
  });
  const httpTimeouts = boundHttpConnections(downloads, config);
  // A failure from here on closes the store in startOnLockedDataDir.
  const listener = await listenShared(config.listen, identity, {
    grpc: socket => grpcConnections.injectConnection(socket),
    http: socket => {
      httpTimeouts(socket);
      downloads.emit('connection', socket);
    },
  }, (err, socket) => auditHandshakeFailure(audit, ctx, err, socket), {
    connectTimeoutMs: config.connectTimeoutMs, maxConnections: config.maxConnections, maxPerAddress: config.maxConnectionsPerAddress,
  });
  const port = listener.port;
  const host = config.listen.slice(0, config.listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  // Hosts marked connected by an earlier run are not connected to this one.
  // Their last-seen time stays what it was: liveness gives hosts known before a restart a grace to reconnect (services/liveness.ts).
  // With several replicas a host marked connected may be on another one: liveness judges it by its last-seen time.
  if (!replicas) for (const h of await store.listHosts()) if (h.connected) await store.setHostConnected(h.id, false, h.lastSeenAt);
  const joined = replicas && await joinReplicas(ctx, replicas, leadership!);
  let metricsServer: MetricsServer | undefined;
  if (config.metricsListen) {
    try {
      metricsServer = await startMetricsServer(config.metricsListen, ctx.metrics.registry);
    } catch (err) {
      await listener.close();
      grpcConnections.destroy();
      server.forceShutdown();
      throw err;
    }
    log.info('metrics listening', { component: 'metrics', address: metricsServer.address });
  }
  const reloadTls = async (): Promise<boolean> => {
    if (transport.kind !== 'tls') {
      log.warn('nothing to reload: this coordinator serves plaintext (--insecure)', { component: 'security' });
      return false;
    }
    try {
      const next = await tlsIdentity(transport.files);
      listener.setIdentity(next);
      const info = describeServerCert(next.cert);
      log.info('serving the server certificate from DATA/tls', { component: 'security', file: transport.files.serverCert, fingerprint: info.fingerprint, expires_at: new Date(info.expiresAt).toISOString() });
      return true;
    } catch (err) {
      log.error('cannot load the server certificate; the one in use stays', { component: 'security', error: describeError(err) });
      return false;
    }
  };
  // Renewed within server-cert-renew-before of expiry (security/server-cert.ts): checked now, before the first client, and every 6 h.
  const renewal = transport.kind === 'tls'
    ? await keepServerCertificateFresh({
      dataDir: config.dataDir, renewBeforeMs: config.serverCertRenewBeforeMs, log, now: () => ctx.clock.now(),
      apply: async () => {
        if (!(await reloadTls())) throw new FerryError('INTERNAL', 'the renewed certificate could not be served (see the error above); it is served after a restart or SIGHUP');
      },
      audit,
    })
    : undefined;
  scheduler.start();
  await leadership?.start();
  // Several replicas: each delivers the webhooks it claims (Store.claimDeliveries); only the scheduling one prunes the audit log.
  const active = leadership && (() => leadership.valid());
  const webhooks = new WebhookWorker({ store, changes: ctx.changes, clock: ctx.clock, log, settings: config.webhook, fetch: guardedFetch(config.webhookAllow),
    ...(config.publicUrl && { publicUrl: config.publicUrl }) });
  webhooks.start();
  const auditRetention = new AuditRetention({ store, clock: ctx.clock, log, retentionMs: config.auditRetentionMs, ...(active && { active }) });
  auditRetention.start();
  log.info('coordinator listening', { component: 'server', address, data_dir: config.dataDir, transport: transport.kind });
  if (transport.kind === 'plaintext') log.warn('--insecure: plaintext gRPC and no tokens; for development on this machine only', { component: 'security' });
  return {
    address,
    transport: transport.kind,
    ...(transport.kind === 'tls' && { caCert: transport.files.caCert }),
    ...(initialised && { initialised }),
    ...(metricsServer && { metricsAddress: metricsServer.address }),
    context: ctx,
    reloadTls: async () => void (await reloadTls()),
    stop: async () => {
      renewal?.stop();
      await scheduler?.stop();
      lagClock.stop();
      await webhooks.stop();
      await auditRetention.stop();
      await metricsServer?.close();
      ctx.registry.closeAll('coordinator shutting down');
      const closed = listener.close();
      downloads.close();
      downloads.closeIdleConnections();
      grpcConnections.drain(3000);
      await new Promise<void>(resolve => {
        const force = setTimeout(() => server.forceShutdown(), 3000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      downloads.closeAllConnections();
      listener.destroyAll();
      await closed;
      // Given up before the store closes: another replica takes over at once instead of when the lease expires.
      await leadership?.stop();
      joined?.storeWatch.stop();
      await joined?.bus.close();
      await store.close();
      await dataLock.release();
      log.info('coordinator stopped', { component: 'server' });
    },
  };
}
