import { detached } from '../async.js';
import { RepeatedFailure } from '../log.js';
import { describeError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import { formatTagSets, matchesTagSets } from '../domain/tags.js';
import type { Deployment, DeploymentConfig, DeploymentGroup, HostDeployment } from '../domain/types.js';
import { orderTargets, plan } from '../planner/plan.js';
import type { FiringAlarm, PlanGates } from '../planner/gates.js';
import { planFromCounts } from '../planner/plan-counts.js';
import { type PlanAction, type PlanTarget, type RevisionHealth, minimumHealthyHosts } from '../planner/rules.js';
import { catchUpGroup, catchUpRegisteredHost, stillBehind } from '../services/catch-up.js';
import { awaitingReconnect, checkLiveness, dropSilentStreams, hostState, livenessOf, streamSilenceMs } from '../services/liveness.js';
import { awaitingApprovalEvent } from '../services/approval.js';
import { firingAlarms, groupAlarmsQuiet } from '../services/alarms.js';
import { checkCommandAcks, sendDeploy } from '../services/dispatch.js';
import { flushLastSeen } from '../services/agents.js';
import { stopDeployment } from '../services/stop.js';
import { runDueSchedules } from '../services/schedules.js';
import { nextStartable, windowGate } from '../services/windows.js';
import { autoRollbackEvents, rollBack } from '../services/rollback.js';

/**
 * The scheduler loop (docs/design/style.md §1): load a snapshot → plan (pure) → apply. It starts Queued
 * deployments when their group is free, and drives each active deployment with the planner.
 * `kick()` coalesces requests; one reconcile runs at a time.
 */
/** Liveness is judged at most this often (its timeout is seconds long). */
const LIVENESS_EVERY_MS = 250;
/**
 * Every host is read for liveness this often, and once when the restart grace ends (the hosts never
 * heard from since the start are lost from then on); in between, only the hosts heard from that fell
 * silent past the timeout since the last judgement (an in-memory scan). At 10,000 hosts a read of
 * them all takes ~100 ms. With a heartbeat pace stretched for a large fleet (agents/pace.ts), every
 * half timeout if that is longer: a tenth of an idle coordinator's time at 10,000 hosts went to it.
 */
const LIVENESS_ALL_EVERY_MS = 15_000;
/** With several replicas (PostgreSQL): every host is read this often (see reconcile). */
const REPLICATED_ALL_EVERY_MS = 1000;
/**
 * With one coordinator, heartbeat times are written to the store at most this often (and at a
 * graceful stop): nothing judges by them (liveness is in memory), what is shown of a host takes the
 * newer time from memory (api/control-service.ts), so only a crash loses up to this much of them.
 * At 10,000 hosts a write of them all is 40-100 ms of the coordinator's CPU with the WAL checkpoint
 * it brings; every heartbeat interval (40 s) it landed in a third of the 10 s windows measured
 * after a verdict (bench/README.md). Replicated, every interval: the other replicas judge by them.
 */
const LAST_SEEN_FLUSH_MS = 300_000;

export class Scheduler {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The passes kicked last, until they end. */
  private pass: Promise<void> | undefined;
  /** Deployments already logged as waiting for agents to reconnect after a restart (logged once each). */
  private readonly heldForReconnect = new Set<string>();
  /**
   * Hosts left out of a catch-up because they were offline or busy when it started (typically with
   * another group's catch-up): their claim was given back, and their groups are evaluated again
   * when a deployment ends and they are idle (a restart loses this; registration evaluates them then).
   */
  private readonly owedCatchUp = new Set<string>();
  /** When liveness was last judged, on the monotonic clock. */
  private livenessCheckedAt = -Infinity;
  /** When every host was last read for liveness, on the monotonic clock. */
  private livenessAllCheckedAt = -Infinity;
  /** When heartbeat times were last written to the store, on the monotonic clock. */
  private seenFlushedAt = -Infinity;

  constructor(private readonly ctx: Context, private readonly tickMs = 1000) {
    this.failures = new RepeatedFailure(ctx.log, 'scheduler pass failed', 'scheduler');
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.tickMs);
    this.timer.unref();
    this.kick();
  }

  /** Stops kicking; resolves when the pass in progress (if any) has ended and heartbeat times are written, so the store can close. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.pass;
    await flushLastSeen(this.ctx);
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    // Paced: after a pass of p ms the next starts p ms later at the earliest, so passes take at
    // most half the loop and agents' reports and heartbeats are read in between (a burst of
    // results kicks once per tick, and at 10,000 hosts a pass is not free).
    const wait = this.passEndedAt + this.passMs - performance.now();
    // Detached: a kick from inside a store transaction or a group's lock (an agent's result) starts a
    // pass of its own, not one that inherits them.
    this.pass = detached(() => new Promise<void>(resolve => {
      const run = () => void this.passes().finally(resolve);
      if (wait > 1) setTimeout(run, wait);
      else setImmediate(run);
    }));
  }

  private async passes(): Promise<void> {
    const t0 = performance.now();
    try {
      while (!this.stopped) {
        this.again = false;
        await this.reconcile();
        if (!this.again) break;
      }
      this.failures.succeeded();
    } catch (err) {
      this.failures.failed(describeError(err));
    } finally {
      this.running = false;
      this.passEndedAt = performance.now();
      this.passMs = this.passEndedAt - t0;
    }
  }
  /** A database down for a minute fails a pass a second: logged once, then once a minute (log.ts). */
  private readonly failures: RepeatedFailure;
  private passEndedAt = -Infinity;
  private passMs = 0;

  /**
   * One pass over every group. Each group's part holds that group's lock (ctx.groups): what it reads
   * (active deployment, host deployments, hosts) is what it writes against, with no agent result,
   * stop or approval of that group interleaved between the store calls.
   */
  async reconcile(): Promise<void> {
    // Liveness reads every host: at most every LIVENESS_EVERY_MS, not on every kick (a burst of a
    // hundred results kicks a hundred times; the timeout it judges is seconds long).
    const mono = this.ctx.monotonic();
    if (mono - this.livenessCheckedAt >= LIVENESS_EVERY_MS) {
      const l = this.liveness();
      // Hosts heard from since the start are lost once silent past the timeout: those that crossed
      // it since the last judgement are known from memory. Every host (the ones never heard from
      // since the start, judged by the restart grace, and any left over) every 15 s.
      const graceEnds = l.startedMono + Math.max(l.restartGraceMs, l.timeoutMs);
      // Replicated, every host is read every second: it refreshes what this replica knows of the hosts
      // whose streams other replicas hold (agents/registry.ts updateElsewhere; their replicas write
      // last-seen times every heartbeat interval, so a fresher read would tell nothing new).
      const every = this.ctx.registry.replicated ? REPLICATED_ALL_EVERY_MS : Math.max(LIVENESS_ALL_EVERY_MS, this.ctx.pace.timeoutMs / 2);
      const all = mono - this.livenessAllCheckedAt >= every ||
        (this.livenessAllCheckedAt < graceEnds && mono >= graceEnds);
      const fellSilent = all ? undefined : this.ctx.registry.heardBetween(this.livenessCheckedAt - l.timeoutMs, mono - l.timeoutMs);
      const silence = streamSilenceMs(this.ctx.pace.intervalMs, l.timeoutMs);
      const quiet = silence >= l.timeoutMs ? [] : all ? undefined : this.ctx.registry.heardBetween(this.livenessCheckedAt - silence, mono - silence);
      if (all) this.livenessAllCheckedAt = mono;
      this.livenessCheckedAt = mono;
      await checkLiveness(this.ctx, mono, l, fellSilent);
      await dropSilentStreams(this.ctx, mono, silence, quiet);
      await checkCommandAcks(this.ctx, mono);
    }
    const flushEvery = this.ctx.registry.replicated ? this.ctx.pace.intervalMs : Math.max(this.ctx.pace.intervalMs, LAST_SEEN_FLUSH_MS);
    if (mono - this.seenFlushedAt >= flushEvery) {
      this.seenFlushedAt = mono;
      await flushLastSeen(this.ctx);
    }
    // The above is every replica's (its own agents' streams); what follows only the scheduling replica's:
    // with several replicas, the one holding the coordinator lease (replicas/leadership.ts).
    if (this.ctx.leader !== undefined && !this.ctx.leader.valid()) return;
    await runDueSchedules(this.ctx);
    for (const listed of await this.ctx.store.listGroups()) {
      if (this.ctx.leader !== undefined && !this.ctx.leader.valid()) return;
      await this.ctx.groups.run(listed.id, async () => {
        // Read again under the lock: the group may have changed (or gone) since the list.
        const group = await this.ctx.store.getGroupById(listed.id);
        if (!group) return;
        const active = await this.ctx.store.activeDeployment(group.id) ?? await this.startNext(group);
        if (active) await this.drive(active, group);
      });
    }
  }

  private liveness() {
    return livenessOf(this.ctx);
  }

  /** Not lost: connected, or reconnecting within the timeout (a dispatch then waits for it). */
  private alive(hostId: string): boolean {
    // A host deployment's host is a known host (a foreign key): no store read per host and pass.
    return hostState(this.ctx.registry.isConnected(hostId), this.ctx.registry.lastHeard(hostId), this.ctx.monotonic(), this.liveness()) !== 'lost';
  }

  private log(message: string, fields: Record<string, unknown>) {
    this.ctx.log.info(message, { component: 'scheduler', ...fields });
  }

  private async startNext(group: DeploymentGroup): Promise<Deployment | undefined> {
    // The next Queued deployment its group's windows let start now (domain/windows.ts).
    const next = await nextStartable(this.ctx, group);
    if (!next) return undefined;
    const config = await this.ctx.store.getConfig(next.configName);
    if (!config) {
      await this.finish(next, 'Failed', 'HEALTH_CONSTRAINTS_INVALID', `deployment config ${next.configName} no longer exists`);
      return undefined;
    }
    const reconnecting = await awaitingReconnect(this.ctx, group, next);
    if (reconnecting) {
      if (!this.heldForReconnect.has(next.id)) {
        this.heldForReconnect.add(next.id);
        this.log('deployment waits for agents to reconnect', { deployment_id: next.id, hosts: reconnecting.hostIds, until: iso(reconnecting.until) });
      }
      return undefined;
    }
    this.heldForReconnect.delete(next.id);
    let targetHostIds = next.targetHostIds;
    if (next.creator === 'autoscaling') {
      // The rule again, now: a host that went offline or busy, or a target that moved on, is left out.
      targetHostIds = await stillBehind(this.ctx, next, group);
      const behind = new Set(targetHostIds);
      for (const hostId of next.targetHostIds ?? []) {
        if (behind.has(hostId)) continue;
        // Not deployed to it: its claim goes back, so a later evaluation may catch it up after all.
        await this.ctx.store.releaseAutoDeployment(group.id, hostId, next.revisionDigest);
        this.owedCatchUp.add(hostId);
      }
      if (targetHostIds.length === 0) {
        if (await this.ctx.store.transitionDeployment(next.id, 'Stopped', {
          completedAt: iso(this.ctx.clock.now()), errorCode: 'CATCH_UP_NOT_NEEDED',
          errorMessage: 'catch-up not needed any more: its hosts went offline or busy, already run the target, or the group\'s target changed',
        })) this.log('catch-up deployment dropped', { deployment_id: next.id, from: next.status, to: 'Stopped' });
        return undefined;
      }
    }
    const health = new Map((await this.ctx.store.hostRevisions(group.id)).map(r => [r.hostId, r]));
    // Every known host that matches, connected or not (an offline one is Skipped as AGENT_OFFLINE at
    // its turn and counts as not healthy), except hosts whose certificates are all revoked.
    const revoked = await this.ctx.store.revokedHostIds();
    const candidates: PlanTarget[] = (await this.ctx.store.listHosts())
      .filter(h => !revoked.has(h.id) && matchesTagSets(h.tags, group.tagSets))
      .filter(h => !targetHostIds || targetHostIds.includes(h.id))
      .map(h => {
        const r = health.get(h.id);
        const revisionHealth: RevisionHealth = !r ? 'unknown' : r.lastStatus === 'Failed' ? 'unhealthy'
          : r.revisionDigest === next.revisionDigest ? 'current' : 'old';
        return { hostId: h.id, status: 'Pending' as const, connected: this.ctx.registry.isConnected(h.id), revisionHealth, position: 0, ...(h.zone && { zone: h.zone }) };
      });
    if (candidates.length === 0) {
      await this.finish(next, 'Failed', 'NO_INSTANCES', noHostsReason(group, next));
      return undefined;
    }
    const targets: HostDeployment[] = orderTargets(candidates).map((t, i) => ({
      deploymentId: next.id, hostId: t.hostId, status: 'Pending', position: i,
    }));
    const min = minimumHealthyHosts(config.minimumHealthy, targets.length);
    if (!await this.ctx.store.startDeployment(next.id, targets, min, iso(this.ctx.clock.now()))) return undefined;
    this.log('deployment started', { deployment_id: next.id, from: next.status, to: 'InProgress', hosts: targets.length, min_healthy: min });
    this.ctx.changes.deployment(next.id);
    return await this.ctx.store.getDeployment(next.id);
  }

  /**
   * Load → plan → apply for one active (InProgress or Paused) deployment; the gates are the planner's
   * inputs. The deployment's host counts decide the pass when they provably give plan()'s decision
   * (planner/plan-counts.ts: paused, or hosts in flight, none pending, the minimum in reach): its host
   * rows, 10,000 at 10,000 hosts, are read only otherwise.
   */
  private async drive(d: Deployment, group: DeploymentGroup): Promise<void> {
    const config = await this.ctx.store.getConfig(d.configName);
    if (!config) return;
    const now = this.ctx.clock.now();
    const actions = await this.planFromCounts(d, group, config, now) ?? await this.planFromRows(d, group, config, now);
    let current = d;
    for (const action of actions) {
      if (action.type === 'wait' && current.status === 'Paused') continue;
      await this.apply(current, action);
      if (action.type === 'resume') current = await this.ctx.store.getDeployment(d.id) ?? current;
    }
  }

  /** The plan from the counts alone, or undefined when only the rows can decide (an alarm of the group firing anywhere, zonal, …). */
  private async planFromCounts(d: Deployment, group: DeploymentGroup, config: DeploymentConfig, now: number): Promise<PlanAction[] | undefined> {
    if (!groupAlarmsQuiet(this.ctx, d, group)) return undefined;
    const counts = await this.ctx.store.hostDeploymentCounts(d.id);
    // No alarm of the group in ALARM on any host: none on a target either.
    return planFromCounts({ deploymentId: d.id, minimumHealthy: config.minimumHealthy, zonal: !!config.zonal, counts, gates: gatesOf(d, group, now, []) });
  }

  private async planFromRows(d: Deployment, group: DeploymentGroup, config: DeploymentConfig, now: number): Promise<PlanAction[]> {
    const hostDeployments = await this.ctx.store.listHostDeploymentStates(d.id);
    // Zones only for a zonal config (one read of the hosts, a removed one read alone): none otherwise.
    const zones = config.zonal ? new Map((await this.ctx.store.listHosts()).map(h => [h.id, h.zone])) : undefined;
    if (zones) for (const hd of hostDeployments) if (!zones.has(hd.hostId)) zones.set(hd.hostId, (await this.ctx.store.getHost(hd.hostId))?.zone);
    const targets: PlanTarget[] = hostDeployments.map(hd => {
      const zone = zones?.get(hd.hostId);
      return {
        hostId: hd.hostId, status: hd.status, connected: this.alive(hd.hostId), revisionHealth: 'old' as const, position: hd.position,
        ...(zone && { zone }),
        ...(hd.completedAt && { completedAt: Date.parse(hd.completedAt) }),
      };
    });
    const gates = gatesOf(d, group, now, await firingAlarms(this.ctx, d, group, targets.map(t => t.hostId)));
    return plan({
      deploymentId: d.id, minimumHealthy: config.minimumHealthy, ...(config.zonal && { zonal: config.zonal }), targets,
      ...(d.requireAllHosts && { requireAllHosts: true }), gates,
    }, now);
  }

  private async apply(d: Deployment, a: PlanAction): Promise<void> {
    const now = iso(this.ctx.clock.now());
    switch (a.type) {
      case 'start':
        await this.dispatch(d, a.hostIds, now);
        break;
      case 'skip-offline':
        for (const hostId of a.hostIds) {
          if (await this.ctx.store.transitionHostDeployment(d.id, hostId, 'Skipped', {
            completedAt: now, errorCode: 'AGENT_OFFLINE',
            errorMessage: `the agent was not connected when its turn came (${a.reason}); ${d.creator === 'rollback'
              ? 'the rollback is re-issued to it when it returns'
              : 'it gets the group\'s target when it returns'}`,
          })) this.log('host deployment skipped: agent offline', { deployment_id: d.id, host_id: hostId, from: 'Pending', to: 'Skipped', reason: a.reason });
        }
        break;
      case 'skip':
        for (const hostId of a.hostIds) {
          if (await this.ctx.store.transitionHostDeployment(d.id, hostId, 'Skipped', { completedAt: now, errorMessage: a.reason })) {
            this.log('host deployment skipped', { deployment_id: d.id, host_id: hostId, from: 'Pending', to: 'Skipped', reason: a.reason });
          }
        }
        break;
      case 'succeed':
        await this.finish(d, 'Succeeded', undefined, a.reason);
        break;
      case 'fail':
        await this.finish(d, 'Failed', a.errorCode, a.reason);
        break;
      case 'zone-complete':
        this.log('zone complete', { deployment_id: d.id, zone: a.zone, zones_done: a.zonesDone, reason: a.reason });
        break;
      case 'wait':
        break;
      case 'stop':
        await stopDeployment(this.ctx, d.id, { by: 'alarm', errorCode: a.errorCode, trigger: a.trigger, reason: a.reason });
        break;
      case 'pause':
        await this.pause(d, a.kind, a.reason);
        break;
      case 'resume':
        if (await this.ctx.store.transitionDeployment(d.id, 'InProgress', { pauseReason: null, pauseKind: null })) {
          this.log('deployment resumed', { deployment_id: d.id, from: 'Paused', to: 'InProgress', reason: a.reason });
        }
        break;
    }
    // A wait changes nothing: watchers (--wait, the console) are not woken every pass for it.
    if (a.type !== 'wait') this.ctx.changes.deployment(d.id);
  }

  /** At the approval gate, the DeploymentAwaitingApproval event (webhooks) goes with the pause. */
  private async pause(d: Deployment, kind: 'approval' | 'window', reason: string): Promise<void> {
    const patch = { pauseReason: reason, pauseKind: kind };
    const at = iso(this.ctx.clock.now());
    // The hosts as they are at the pause (the event's counts): read before, under the group's lock.
    const hosts = kind === 'approval' ? await this.ctx.store.listHostDeployments(d.id) : [];
    const moved = kind === 'approval'
      ? await this.ctx.store.transitionDeploymentWithEvent(d.id, 'Paused', patch, p => awaitingApprovalEvent(p, hosts, reason, at))
      : await this.ctx.store.transitionDeployment(d.id, 'Paused', patch);
    if (moved) this.log('deployment paused', { deployment_id: d.id, from: 'InProgress', to: 'Paused', reason });
  }

  /**
   * Starts hosts: their moves to InProgress in one transaction (an AllAtOnce start of 1,000 hosts was
   * 1,000 commits and 1,000 reads of the same revision), then a deploy command to each that moved.
   */
  private async dispatch(d: Deployment, hostIds: readonly string[], now: string): Promise<void> {
    const revision = await this.ctx.store.findRevisionByDigest(d.revisionDigest);
    if (!revision) {
      await this.ctx.store.transaction(async () => {
        for (const hostId of hostIds) {
          await this.ctx.store.transitionHostDeployment(d.id, hostId, 'Failed', {
            completedAt: now, errorCode: 'REVISION_MISSING', errorMessage: `revision ${d.revisionDigest} is missing from the store`,
          });
        }
      });
      return;
    }
    // Reconnecting (not lost): it stays Pending and is dispatched when its stream is back.
    const sessions = hostIds.flatMap(hostId => {
      const session = this.ctx.registry.get(hostId);
      return session ? [session] : [];
    });
    const started = await this.ctx.store.transaction(async () => {
      const moved: typeof sessions = [];
      for (const s of sessions) if (await this.ctx.store.transitionHostDeployment(d.id, s.hostId, 'InProgress', { startedAt: now })) moved.push(s);
      return moved;
    });
    for (const session of started) {
      const sent = sendDeploy(this.ctx, session, d, revision);
      this.log('host deployment dispatched', { deployment_id: d.id, host_id: session.hostId, from: 'Pending', to: 'InProgress', sent });
    }
  }

  private async finish(d: Deployment, to: 'Succeeded' | 'Failed', errorCode: string | undefined, reason: string): Promise<void> {
    if (to === 'Failed' && d.creator !== 'rollback' && (await autoRollbackEvents(this.ctx, d)).includes('failure')) {
      // Queued behind this deployment (and ahead of anything else): it starts as soon as this one ends.
      reason = `${reason}; ${(await rollBack(this.ctx, d, 'failure')).note}`;
    }
    const ok = await this.ctx.store.transitionDeployment(d.id, to, {
      completedAt: iso(this.ctx.clock.now()),
      ...(to === 'Failed' && { errorCode: errorCode ?? 'HEALTH_CONSTRAINTS', errorMessage: reason }),
    });
    if (!ok) return;
    this.log(`deployment ${to.toLowerCase()}`, { deployment_id: d.id, from: d.status, to, reason, ...(errorCode && { error_code: errorCode }) });
    this.ctx.changes.deployment(d.id);
    // This group only: hosts that joined it (or were offline) while it was busy get its target now.
    const group = await this.ctx.store.getGroupById(d.groupId);
    if (group) await catchUpGroup(this.ctx, group);
    // Hosts a catch-up had to leave out: their groups again, once they are idle.
    for (const hostId of [...this.owedCatchUp]) {
      if ((await this.ctx.store.hostDeploymentsOnHost(hostId, ['Pending', 'InProgress'])).length > 0) continue;
      this.owedCatchUp.delete(hostId);
      await catchUpRegisteredHost(this.ctx, hostId, undefined);
    }
    this.again = true;
  }
}

/** The planner's gates of a deployment (planner/gates.ts), its group's alarms in ALARM on its targets given. */
function gatesOf(d: Deployment, group: DeploymentGroup, now: number, alarms: FiringAlarm[]): PlanGates {
  const window = windowGate(d, group, now);
  return {
    ...(d.minHealthyTimeMs && { bakeMs: d.minHealthyTimeMs }),
    ...((d.approveAfter !== undefined || d.approveAfterZones !== undefined) && {
      approval: {
        approved: !!d.approved,
        ...(d.approveAfter !== undefined && { afterHosts: d.approveAfter }),
        ...(d.approveAfterZones !== undefined && { afterZones: d.approveAfterZones }),
      },
    }),
    ...(window && { window }),
    alarms,
    ...(d.status === 'Paused' && { paused: d.pauseKind ?? 'operator' }),
  };
}

/** Why a deployment has no host to start on, and what to do next. Pure. */
export function noHostsReason(group: DeploymentGroup, d: Pick<Deployment, 'targetHostIds'>): string {
  if (d.targetHostIds) {
    return `none of the ${d.targetHostIds.length} host(s) it targets (${d.targetHostIds.join(', ')}) is known; see ferry hosts list`;
  }
  return `group ${group.name} has no hosts: no known host matches ${formatTagSets(group.tagSets)}; ` +
    'see ferry hosts list (an agent gets its tags from ferry-agent start --tag KEY=VALUE)';
}
