import { randomUUID } from 'node:crypto';
import { FerryError } from '../../common/errors.js';
import type { AgentRelease } from '../agent-downloads/releases.js';
import type { Context, UpgradeWaiters } from '../context.js';
import type { Host } from '../domain/types.js';
import type { HostUpgrade } from '../../proto/gen/ferry/v1/HostUpgrade.js';
import type { UpgradeHostsResponse } from '../../proto/gen/ferry/v1/UpgradeHostsResponse.js';
import { matchesTagSets } from '../domain/tags.js';

/**
 * `ferry hosts upgrade`: the agent binary the coordinator serves (DATA/agent/ferry-agent-linux-<arch>)
 * rolled over the selected hosts with a deployment's safety: `batch` hosts at a time, the next batch
 * only when every host of this one reconnected with the new version, none at all after a failure.
 * Each agent refuses while a deployment runs or waits on it (retried here until the host's time is
 * up), checks the download's SHA-256 and the new binary's `--version`, swaps it in atomically and
 * exits for its supervisor to start the new one; a watchdog running the old binary puts it back
 * when the new agent has not registered in time (agent/upgrade/). Not persisted: a coordinator
 * restart ends the rollout (the agents finish or roll back on their own).
 */

export interface UpgradeSelection {
  all?: boolean;
  group?: string;
  application?: string;
  host?: string;
  batch: number;
  timeoutMs: number;
  by: string;
}

type Answer = { upgradeId: string; status: string; message: string };
type Waiter = { registered(version: string): void; answered(a: Answer): void };

/** The per-host listeners the agent stream calls into (ctx.upgrades). */
export class UpgradeListeners implements UpgradeWaiters {
  private readonly waiters = new Map<string, Waiter>();
  /** A rollout in progress (one at a time). */
  running = false;

  listen(hostId: string, w: Waiter): () => void {
    this.waiters.set(hostId, w);
    return () => {
      if (this.waiters.get(hostId) === w) this.waiters.delete(hostId);
    };
  }

  registered(hostId: string, agentVersion: string): void {
    this.waiters.get(hostId)?.registered(agentVersion);
  }

  answered(hostId: string, a: Answer): void {
    this.waiters.get(hostId)?.answered(a);
  }
}

/** How long the new agent has to register before the watchdog puts the old binary back. */
export function confirmTimeoutMs(timeoutMs: number): number {
  return Math.min(120_000, Math.max(10_000, Math.floor(timeoutMs / 3)));
}

async function selectHosts(ctx: Context, s: UpgradeSelection): Promise<Host[]> {
  const chosen = [s.all, s.group, s.host].filter(Boolean).length;
  if (chosen !== 1) throw new FerryError('INVALID_ARGUMENT', 'hosts: give exactly one of --all, --group G or --host H');
  if (s.application && !s.group) throw new FerryError('INVALID_ARGUMENT', '--app: only with --group');
  if (!Number.isInteger(s.batch) || s.batch < 1) throw new FerryError('INVALID_ARGUMENT', `--batch: ${s.batch} is not a positive whole number`);
  const hosts = await ctx.store.listHosts();
  if (s.all) return hosts;
  if (s.host) {
    const byId = hosts.filter(h => h.id === s.host);
    const found = byId.length > 0 ? byId : hosts.filter(h => h.hostname === s.host);
    if (found.length === 0) throw new FerryError('NOT_FOUND', `--host: host ${s.host} is not registered; see ferry hosts list`);
    if (found.length > 1) throw new FerryError('INVALID_ARGUMENT', `--host: hostname ${s.host} is shared by hosts ${found.map(h => h.id).join(', ')}; give the host id`);
    return found;
  }
  const groups = (await ctx.store.listGroups(s.application || undefined)).filter(g => g.name === s.group);
  if (groups.length === 0) throw new FerryError('NOT_FOUND', `--group: no deployment group ${s.group}${s.application ? ` in application ${s.application}` : ''}; see ferry group list`);
  if (groups.length > 1) throw new FerryError('INVALID_ARGUMENT', `--group: applications ${groups.map(g => g.application).join(', ')} each have a group ${s.group}; add --app`);
  return hosts.filter(h => matchesTagSets(h.tags, groups[0]!.tagSets));
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** One host: until it runs `release` (Upgraded) or its time is up or it fails (Failed). */
async function upgradeOne(ctx: Context, listeners: UpgradeListeners, h: Host, release: AgentRelease, timeoutMs: number): Promise<{ status: string; message: string }> {
  const deadline = ctx.monotonic() + timeoutMs;
  const log = (message: string, fields: Record<string, unknown> = {}) => ctx.log.info(message, { component: 'agent-upgrade', host_id: h.id, to_version: release.version, ...fields });
  type Ev = { kind: 'registered'; version: string } | { kind: 'answer'; answer: Answer };
  const queue: Ev[] = [];
  let wake: (() => void) | undefined;
  const push = (e: Ev) => {
    queue.push(e);
    wake?.();
  };
  const stop = listeners.listen(h.id, { registered: version => push({ kind: 'registered', version }), answered: answer => push({ kind: 'answer', answer }) });
  const waitEvent = async (): Promise<Ev | undefined> => {
    while (queue.length === 0) {
      const left = deadline - ctx.monotonic();
      if (left <= 0) return undefined;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>(r => {
        wake = r;
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
      wake = undefined;
    }
    return queue.shift();
  };
  try {
    for (;;) {
      const session = ctx.registry.get(h.id);
      if (!session) return { status: 'Failed', message: `not connected: the agent must be running and connected to be upgraded` };
      const upgradeId = randomUUID();
      const upgrade = { upgradeId, version: release.version, fileName: release.name, sha256: release.sha256, size: release.size, confirmTimeoutMs: confirmTimeoutMs(timeoutMs) };
      // Its stream on another replica: that one sends it (relayUpgrade); the answers come back the same way.
      if (session.elsewhere) ctx.changes.share('upgrade', { hostId: h.id, upgrade });
      const sent = session.elsewhere === true || session.send({ upgrade });
      if (!sent) return { status: 'Failed', message: 'not connected: its stream closed' };
      log('upgrade command sent', { upgrade_id: upgradeId, file: release.name });
      let restarting = false;
      for (;;) {
        const e = await waitEvent();
        if (!e) {
          return { status: 'Failed', message: restarting
            ? `the new agent did not register within ${Math.round(timeoutMs / 1000)} s (its watchdog puts the old binary back when it has not registered in ${Math.round(confirmTimeoutMs(timeoutMs) / 1000)} s)`
            : `no answer from the agent within ${Math.round(timeoutMs / 1000)} s (an agent older than hosts upgrade ignores the command: upgrade it by its package)` };
        }
        if (e.kind === 'registered') {
          if (e.version === release.version) return { status: 'Upgraded', message: `reconnected running ${release.version}` };
          if (restarting) return { status: 'Failed', message: `the new agent did not register in time and was rolled back: the host reconnected running ${e.version}` };
          continue;
        }
        if (e.answer.upgradeId !== upgradeId) continue;
        if (e.answer.status === 'Restarting') {
          restarting = true;
          log('the agent replaced its binary and is restarting', { upgrade_id: upgradeId });
          continue;
        }
        if (e.answer.status === 'Busy') {
          log('the agent is busy with a deployment; asking again', { reason: e.answer.message });
          break;
        }
        return { status: 'Failed', message: `${e.answer.status.toLowerCase()} by the agent: ${e.answer.message}` };
      }
      if (deadline - ctx.monotonic() <= 2000) return { status: 'Failed', message: `still busy with a deployment after ${Math.round(timeoutMs / 1000)} s: try again later` };
      await sleep(2000);
    }
  } finally {
    stop();
  }
}

export async function upgradeHosts(ctx: Context, s: UpgradeSelection): Promise<UpgradeHostsResponse> {
  const listeners = ctx.upgrades instanceof UpgradeListeners ? ctx.upgrades : undefined;
  if (!listeners || !ctx.agentReleases) throw new FerryError('FAILED_PRECONDITION', 'this coordinator cannot upgrade agents (no agent downloads)');
  const hosts = await selectHosts(ctx, s);
  if (hosts.length === 0) throw new FerryError('NOT_FOUND', 'no host matches: see ferry hosts list');
  const releases = await ctx.agentReleases.refresh();
  if (releases.length === 0) {
    throw new FerryError('FAILED_PRECONDITION', 'the coordinator serves no agent binary: copy ferry-agent-linux-<arch> (npm run build:agent) into DATA/agent/ first (docs/install.md)');
  }
  if (listeners.running) throw new FerryError('FAILED_PRECONDITION', 'an agent upgrade is already running on this coordinator: wait for it to end');
  listeners.running = true;
  try {
    const out: HostUpgrade[] = [];
    const todo: { host: Host; release: AgentRelease }[] = [];
    for (const h of hosts) {
      const release = ctx.agentReleases.forArch(h.facts.arch ?? '');
      const base = { hostId: h.id, hostname: h.hostname, fromVersion: h.agentVersion, toVersion: release?.version ?? '', message: '', batch: 0 };
      if (!release) out.push({ ...base, status: 'Failed', message: `no agent binary for architecture '${h.facts.arch ?? ''}' in DATA/agent/ (ferry-agent-linux-${h.facts.arch || '<arch>'})` });
      else if (release.version === h.agentVersion) out.push({ ...base, status: 'UpToDate', message: `already runs ${h.agentVersion}` });
      else todo.push({ host: h, release });
    }
    let failed = out.some(o => o.status === 'Failed');
    ctx.log.info('agent upgrade started', { component: 'agent-upgrade', hosts: todo.length, batch: s.batch, by: s.by });
    for (let i = 0; i < todo.length; i += s.batch) {
      const batchNo = i / s.batch + 1;
      const batch = todo.slice(i, i + s.batch);
      if (failed) {
        for (const { host, release } of batch) {
          out.push({ hostId: host.id, hostname: host.hostname, fromVersion: host.agentVersion, toVersion: release.version, status: 'NotAttempted', message: 'an earlier failure stopped the rollout', batch: batchNo });
        }
        continue;
      }
      const results = await Promise.all(batch.map(({ host, release }) => upgradeOne(ctx, listeners, host, release, s.timeoutMs)));
      batch.forEach(({ host, release }, j) => {
        const r = results[j]!;
        ctx.log[r.status === 'Upgraded' ? 'info' : 'warn']('agent upgrade of a host ended', { component: 'agent-upgrade', host_id: host.id, status: r.status, reason: r.message });
        out.push({ hostId: host.id, hostname: host.hostname, fromVersion: host.agentVersion, toVersion: release.version, status: r.status, message: r.message, batch: batchNo });
        if (r.status !== 'Upgraded') failed = true;
      });
    }
    return { hosts: out, status: failed ? 'Failed' : 'Succeeded' };
  } finally {
    listeners.running = false;
  }
}

/**
 * Several replicas: an upgrade command another replica decided for a host whose stream is here (Changes.share
 * 'upgrade'), sent on it. The agent's answers and its registration go back through the bus (api/agent-service.ts).
 */
export function relayUpgrade(ctx: Context, data: unknown): void {
  const d = (data ?? {}) as { hostId?: unknown; upgrade?: Record<string, unknown> };
  const u = d.upgrade;
  if (typeof d.hostId !== 'string' || u === undefined || typeof u.upgradeId !== 'string' || typeof u.version !== 'string' || typeof u.fileName !== 'string' ||
    typeof u.sha256 !== 'string' || typeof u.size !== 'number' || typeof u.confirmTimeoutMs !== 'number') return;
  const session = ctx.registry.local(d.hostId);
  if (!session) return;
  const sent = session.send({ upgrade: { upgradeId: u.upgradeId, version: u.version, fileName: u.fileName, sha256: u.sha256, size: u.size, confirmTimeoutMs: u.confirmTimeoutMs } });
  ctx.log.info('upgrade command relayed from another replica', { component: 'agent-upgrade', host_id: d.hostId, upgrade_id: u.upgradeId, sent });
}
