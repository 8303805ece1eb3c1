import type { Deployment, DeploymentConfig, DeploymentGroup, Host, HostDeployment, MinimumHealthy, Revision, TagSets } from '../domain/types.js';
import { isAwaitingApproval } from '../domain/pause.js';
import type { DeploymentView } from '../services/deployments.js';
import type { WindowWait } from '../services/windows.js';
import type { Schedule } from '../domain/schedules.js';
import type { DeploymentWindow } from '../domain/windows.js';
import type { DeploymentWindow__Output } from '../../proto/gen/ferry/v1/DeploymentWindow.js';
import type { Schedule as PSchedule } from '../../proto/gen/ferry/v1/Schedule.js';
import type { DeploymentConfig as PConfig } from '../../proto/gen/ferry/v1/DeploymentConfig.js';
import type { DeploymentDetail as PDetail } from '../../proto/gen/ferry/v1/DeploymentDetail.js';
import type { Deployment as PDeployment } from '../../proto/gen/ferry/v1/Deployment.js';
import type { DeploymentGroup as PGroup } from '../../proto/gen/ferry/v1/DeploymentGroup.js';
import type { HostDeployment as PHostDeployment } from '../../proto/gen/ferry/v1/HostDeployment.js';
import type { HostInfo as PHost } from '../../proto/gen/ferry/v1/HostInfo.js';
import type { Revision as PRevision } from '../../proto/gen/ferry/v1/Revision.js';
import type { TagSet__Output } from '../../proto/gen/ferry/v1/TagSet.js';

/** Domain ↔ protobuf messages. Pure. */
const minimumToProto = (m: MinimumHealthy) => ({ type: m.type, value: 'value' in m ? m.value : 0 });

export function configToProto(c: DeploymentConfig): PConfig {
  return {
    name: c.name,
    minimumHealthy: minimumToProto(c.minimumHealthy),
    builtIn: c.builtIn,
    createdAt: c.createdAt,
    zonal: c.zonal
      ? { monitorMs: c.zonal.monitorMs, firstZoneMonitorMs: c.zonal.firstZoneMonitorMs, minimumHealthyPerZone: minimumToProto(c.zonal.minimumHealthyPerZone) }
      : null,
  };
}

export function tagSetsToProto(sets: TagSets) {
  return sets.map(set => ({
    filters: set.map(f => ({ key: f.key ?? '', value: f.value ?? '', hasKey: f.key !== undefined, hasValue: f.value !== undefined })),
  }));
}

export function tagSetsFromProto(sets: TagSet__Output[]): TagSets {
  return sets.map(s => s.filters.map(f => ({
    ...((f.hasKey || f.key) && { key: f.key }),
    ...((f.hasValue || (f.value && !f.hasKey)) && { value: f.value }),
  })));
}

export function groupToProto(
  g: DeploymentGroup,
  extra: { matchingHostIds: string[]; lastSuccessful?: Deployment; window?: { open: boolean; closesAt?: number; opensAt?: number } },
): PGroup {
  return {
    windows: (g.windows ?? []).map(w => ({ cron: w.cron, durationMs: w.durationMs, timezone: w.timezone })),
    windowOpen: extra.window?.open ?? false,
    windowClosesAt: extra.window?.closesAt === undefined ? '' : new Date(extra.window.closesAt).toISOString(),
    nextWindowAt: extra.window?.opensAt === undefined ? '' : new Date(extra.window.opensAt).toISOString(),
    id: g.id, application: g.application, name: g.name, tagSets: tagSetsToProto(g.tagSets), configName: g.configName,
    createdAt: g.createdAt, matchingHostIds: extra.matchingHostIds,
    lastSuccessfulDeploymentId: extra.lastSuccessful?.id ?? '', lastSuccessfulRevision: extra.lastSuccessful?.revisionDigest ?? '',
    autoRollback: g.autoRollback, alarms: g.alarms, rollbackConfig: g.rollbackConfig ?? '',
  };
}

export function revisionToProto(r: Revision): PRevision {
  return { digest: r.digest, application: r.application, size: r.size, bundleType: r.bundleType, description: r.description, commit: r.commit ?? '', createdAt: r.createdAt };
}

export function deploymentToProto(d: Deployment, wait?: WindowWait): PDeployment {
  return {
    waitReason: wait?.reason ?? '', nextWindowAt: wait?.opensAt === undefined ? '' : new Date(wait.opensAt).toISOString(),
    ignoreWindow: d.ignoreWindow ?? false, scheduleId: d.scheduleId ?? '', requireAllHosts: d.requireAllHosts ?? false,
    id: d.id, application: d.application, groupName: d.groupName, groupId: d.groupId, revision: d.revisionDigest,
    configName: d.configName, status: d.status, creator: d.creator, createdBy: d.createdBy ?? '', description: d.description,
    fileExistsBehavior: d.fileExistsBehavior, ignoreApplicationStopFailures: d.ignoreApplicationStopFailures,
    minHealthyHosts: d.minHealthyHosts ?? 0, errorCode: d.errorCode ?? '', errorMessage: d.errorMessage ?? '',
    createdAt: d.createdAt, startedAt: d.startedAt ?? '', completedAt: d.completedAt ?? '',
    rollbackOf: d.rollbackOf ?? '', rolledBackBy: d.rolledBackBy ?? '', autoRollback: d.autoRollback ?? [],
    pauseReason: d.status === 'Paused' ? d.pauseReason ?? '' : '', approveAfter: d.approveAfter ?? -1,
    awaitingApproval: isAwaitingApproval(d), pauseKind: d.status === 'Paused' ? d.pauseKind ?? '' : '',
    approveAfterZones: d.approveAfterZones ?? 0,
    ignoreAlarms: d.ignoreAlarms ?? false, minHealthyTimeMs: d.minHealthyTimeMs ?? 0,
  };
}

export function detailToProto(v: DeploymentView): PDetail {
  return {
    deployment: deploymentToProto(v.deployment, v.wait),
    overview: v.overview,
    hostsTotal: v.hostsTotal,
    nextHostAfter: v.nextHostAfter ?? '',
    offlineHosts: v.hosts.filter(h => h.status === 'Skipped' && h.errorCode === 'AGENT_OFFLINE').map(h => h.hostId),
    hosts: v.hosts.map(h => ({
      hostId: h.hostId, hostname: h.hostname, status: h.status, currentEvent: h.currentEvent ?? '',
      errorCode: h.errorCode ?? '', errorMessage: h.errorMessage ?? '', startedAt: h.startedAt ?? '',
      completedAt: h.completedAt ?? '', zone: h.zone ?? '',
      events: h.events.map(e => ({
        name: e.event, status: e.status, errorCode: e.errorCode ?? '', exitCode: e.exitCode ?? -1, message: e.message ?? '',
        startedAt: e.startedAt ?? '', endedAt: e.endedAt ?? '', durationMs: e.durationMs ?? 0,
      })),
    })),
  };
}

/** One host's part in a deployment, without its lifecycle events (a host's history). */
export function hostDeploymentToProto(h: HostDeployment, hostname: string): PHostDeployment {
  return {
    hostId: h.hostId, hostname, status: h.status, currentEvent: h.currentEvent ?? '', errorCode: h.errorCode ?? '',
    errorMessage: h.errorMessage ?? '', startedAt: h.startedAt ?? '', completedAt: h.completedAt ?? '', zone: '', events: [],
  };
}

export function hostToProto(h: Host, revisions: PHost['revisions'], state: string, latestAgentVersion = ''): PHost {
  return {
    state, latestAgentVersion, agentOutOfDate: latestAgentVersion !== '' && h.agentVersion !== latestAgentVersion,
    id: h.id, hostname: h.hostname, tags: h.tags, zone: h.zone ?? '', agentVersion: h.agentVersion, connected: h.connected,
    lastSeenAt: h.lastSeenAt, registeredAt: h.registeredAt,
    facts: {
      os: h.facts.os ?? '', kernel: h.facts.kernel ?? '', arch: h.facts.arch ?? '', cpus: h.facts.cpus ?? 0,
      memoryBytes: h.facts.memoryBytes ?? 0, diskTotalBytes: h.facts.diskTotalBytes ?? 0, diskFreeBytes: h.facts.diskFreeBytes ?? 0,
    },
    revisions,
  };
}

export function windowsFromProto(windows: DeploymentWindow__Output[]): DeploymentWindow[] {
  return windows.map(w => ({ cron: w.cron, durationMs: Number(w.durationMs), timezone: w.timezone || 'UTC' }));
}

export function scheduleToProto(s: Schedule): PSchedule {
  const o = s.options;
  return {
    id: s.id, application: s.application, group: s.groupName, revision: s.revision, at: s.at ?? '', cron: s.cron ?? '',
    timezone: s.timezone, state: s.state, nextRunAt: s.nextRunAt ?? '', lastRunAt: s.lastRunAt ?? '',
    lastDeploymentId: s.lastDeploymentId ?? '', lastError: s.lastError ?? '', createdBy: s.createdBy, createdAt: s.createdAt,
    deployment: {
      application: s.application, group: s.groupName, revision: s.revision, configName: o.configName ?? '', description: o.description ?? '',
      fileExistsBehavior: o.fileExistsBehavior ?? '', ignoreApplicationStopFailures: o.ignoreApplicationStopFailures ?? false,
      autoRollback: o.autoRollback ?? [], overrideAutoRollback: o.autoRollback !== undefined,
      approveAfter: o.approveAfter ?? 0, hasApproveAfter: o.approveAfter !== undefined, approveAfterZones: o.approveAfterZones ?? 0,
      ignoreAlarms: o.ignoreAlarms ?? false, minHealthyTimeMs: o.minHealthyTimeMs ?? 0, ignoreWindow: o.ignoreWindow ?? false, requireAllHosts: o.requireAllHosts ?? false,
    },
  };
}
