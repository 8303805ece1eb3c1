import { type Context, iso } from '../context.js';
import { observeFleet } from './pace.js';
import { matchesTagSets } from '../domain/tags.js';
import type { Deployment, DeploymentGroup, Host } from '../domain/types.js';
import type { HostPresence } from '../store/store.js';

export type HostState = 'connected' | 'reconnecting' | 'lost';

export interface Liveness {
  /** Silence after which an agent is lost (default 3 missed 5 s heartbeats). */
  timeoutMs: number;
  /** When this coordinator started, on the monotonic clock. */
  startedMono: number;
  /**
   * Hosts last heard from before the start get at least this long after it to reconnect (their
   * reconnect backoff may have grown while the coordinator was down).
   */
  restartGraceMs: number;
}

/** After a coordinator restart, agents known before get this long to reconnect (their backoff caps at 30 s). */
export const RESTART_GRACE_MS = 45_000;

export function livenessOf(ctx: Context): Liveness {
  return { timeoutMs: ctx.pace.timeoutMs, startedMono: ctx.startedMono, restartGraceMs: RESTART_GRACE_MS };
}

/**
 * connected: stream open; reconnecting: no stream, but heard from within the timeout; lost: silent
 * longer. Monotonic times only (`lastHeard` from the registry, `now` from ctx.monotonic()): a
 * wall-clock jump changes nothing. A host not heard from since this coordinator started gets the
 * restart grace. Pure.
 */
export function hostState(connected: boolean, lastHeard: number | undefined, now: number, l: Liveness): HostState {
  const deadline = lastHeard === undefined ? l.startedMono + Math.max(l.restartGraceMs, l.timeoutMs) : lastHeard + l.timeoutMs;
  if (now >= deadline) return 'lost';
  return connected ? 'connected' : 'reconnecting';
}

/** A host's state as the coordinator judges it now. */
export function hostStateOf(ctx: Context, host: { id: string; connected: boolean }): HostState {
  return hostState(ctx.registry.isConnected(host.id) || host.connected, ctx.registry.lastHeard(host.id), ctx.monotonic(), livenessOf(ctx));
}

/**
 * Declares silent agents lost: their stream is closed and every host deployment in flight on them
 * becomes Unknown with AGENT_LOST (never a hook failure), which the planner counts as failed.
 * An agent that comes back later still reports what it reached (see hostResult).
 * `hostIds`: judge only these hosts (those that fell silent since the last check; with one
 * coordinator the scheduler reads every host only every 15 s and when the restart grace ends: at
 * 10,000 hosts a read of them all every 250 ms was most of an idle coordinator's CPU); every listed
 * host when absent.
 */
export async function checkLiveness(ctx: Context, now: number, l: Liveness, hostIds?: readonly string[]): Promise<void> {
  const hosts: readonly HostPresence[] = hostIds ? await knownHosts(ctx, hostIds) : await ctx.store.listHostPresence();
  // Replicated: what the store says of hosts whose streams other replicas hold (agents/registry.ts);
  // the scheduler then always reads every host (no `hostIds`), so that view stays fresh.
  if (!hostIds) {
    ctx.registry.updateElsewhere(hosts);
    observeFleet(ctx, hosts.length);
  }
  // Replicated, hosts without a stream here are judged by the replica that schedules only (one verdict each).
  const judgesElsewhere = !ctx.registry.replicated || (ctx.leader?.valid() ?? true);
  for (const host of hosts) {
    const session = ctx.registry.local(host.id);
    if (!session && !judgesElsewhere) continue;
    const heard = ctx.registry.lastHeard(host.id);
    if (hostState(host.connected, heard, now, l) !== 'lost') continue;
    const inFlight = await ctx.store.hostDeploymentsOnHost(host.id, ['InProgress']);
    if (!session && !host.connected && inFlight.length === 0) continue;
    const silentFor = Math.round((now - (heard ?? l.startedMono)) / 1000);
    // Its last heartbeat's time: from memory when not written to the store yet (scheduler.ts LAST_SEEN_FLUSH_MS).
    const seenWall = ctx.registry.seenAt(host.id);
    const lastSeenAt = seenWall !== undefined ? iso(seenWall) : host.lastSeenAt;
    if (session) {
      ctx.registry.remove(session);
      session.close(`no heartbeat for ${silentFor} s`);
    }
    if (host.connected) await ctx.store.setHostConnected(host.id, false, lastSeenAt);
    ctx.log.warn('agent lost', { component: 'liveness', host_id: host.id, last_seen_at: lastSeenAt, silent_s: silentFor });
    for (const hd of inFlight) {
      const ok = await ctx.store.transitionHostDeployment(hd.deploymentId, host.id, 'Unknown', {
        // `now` is monotonic (for the judgement); the record gets the wall-clock time.
        completedAt: iso(ctx.clock.now()), errorCode: 'AGENT_LOST',
        errorMessage: `agent lost: no heartbeat for ${silentFor} s (last seen ${lastSeenAt}) while ${hd.currentEvent ?? 'the deployment'} was running`,
      });
      if (ok) {
        ctx.log.info('host deployment unknown', { component: 'liveness', deployment_id: hd.deploymentId, host_id: host.id, from: 'InProgress', to: 'Unknown', reason: 'AGENT_LOST' });
        ctx.changes.deployment(hd.deploymentId);
      }
    }
    ctx.kick();
  }
}

/** A stream silent this long at least is dropped (when that is short of the timeout): dropSilentStreams. */
export const STREAM_SILENCE_MIN_MS = 30_000;

/**
 * How long a host's stream may stay silent before it is dropped: three heartbeat intervals, at
 * least 30 s, at most the timeout (where the host is lost anyway). It grows with the heartbeat pace.
 */
export function streamSilenceMs(intervalMs: number, timeoutMs: number): number {
  return Math.min(timeoutMs, Math.max(STREAM_SILENCE_MIN_MS, 3 * intervalMs));
}

/**
 * Drops the streams here of agents silent for `silenceMs` and not lost yet (a frozen agent, a
 * partition, a peer gone without closing its connection): the host shows disconnected and is
 * judged as reconnecting, and what it is owed (a cancel written meanwhile) is sent again when it
 * registers. The coordinator's own gRPC keepalive pings did this once, every 10 s on every
 * connection: at 10,000 agents on their own connections 1,000 pings a second, 2.5 points of a core
 * idle (bench/README.md); heartbeats come anyway and their interval grows with the fleet.
 * `hostIds`: only these (those that crossed `silenceMs` since the last check); every stream here when absent.
 */
export async function dropSilentStreams(ctx: Context, now: number, silenceMs: number, hostIds?: readonly string[]): Promise<void> {
  for (const hostId of hostIds ?? ctx.registry.localHostIds()) {
    const session = ctx.registry.local(hostId);
    const heard = ctx.registry.lastHeard(hostId);
    if (!session || heard === undefined || now - heard < silenceMs) continue;
    const silentFor = Math.round((now - heard) / 1000);
    ctx.registry.remove(session);
    session.close(`no heartbeat for ${silentFor} s`);
    const host = await ctx.store.getHost(hostId);
    const seenWall = ctx.registry.seenAt(hostId);
    if (host?.connected) await ctx.store.setHostConnected(hostId, false, seenWall !== undefined ? iso(seenWall) : host.lastSeenAt);
    ctx.log.info('agent disconnected: silent', { component: 'liveness', host_id: hostId, silent_s: silentFor });
    ctx.kick();
  }
}

/** The hosts of `hostIds` that are still listed (neither unknown nor removed), as listHosts has them. */
async function knownHosts(ctx: Context, hostIds: readonly string[]): Promise<Host[]> {
  const hosts: Host[] = [];
  for (const id of hostIds) {
    const host = await ctx.store.getHost(id);
    if (host && await ctx.store.hostRemovedAt(id) === undefined) hosts.push(host);
  }
  return hosts;
}

/**
 * After a coordinator restart every agent is disconnected until it reconnects (its backoff may be
 * up to 30 s). A Queued deployment started in that gap would see only the hosts back so far — none
 * (failing NO_INSTANCES) or a few. So it waits while a host of its group known before the restart
 * is still within the restart grace; at the latest until the grace ends. Returns those hosts and
 * the time the wait ends, or undefined when nothing holds it.
 */
export async function awaitingReconnect(ctx: Context, group: DeploymentGroup, d: Deployment): Promise<{ hostIds: string[]; until: number } | undefined> {
  const l = livenessOf(ctx);
  const now = ctx.monotonic();
  if (now >= l.startedMono + l.restartGraceMs) return undefined;
  const hostIds = (await ctx.store.listHosts())
    .filter(h => !ctx.registry.isConnected(h.id) && (ctx.registry.replicated ? !h.connected : ctx.registry.lastHeard(h.id) === undefined))
    .filter(h => matchesTagSets(h.tags, group.tagSets) && (!d.targetHostIds || d.targetHostIds.includes(h.id)))
    .map(h => h.id);
  // `until` is shown to people: the wall-clock time the grace ends.
  return hostIds.length > 0 ? { hostIds, until: ctx.clock.now() + (l.startedMono + l.restartGraceMs - now) } : undefined;
}

/** The wait reason `deploy status` and `--wait` show for awaitingReconnect. */
export function reconnectWaitReason(w: { hostIds: string[]; until: number }): string {
  const shown = w.hostIds.slice(0, 5).join(', ') + (w.hostIds.length > 5 ? ` and ${w.hostIds.length - 5} more` : '');
  return `waiting for ${w.hostIds.length} agent${w.hostIds.length === 1 ? '' : 's'} to reconnect after the coordinator restarted (${shown}), until ${iso(w.until)} at the latest`;
}
