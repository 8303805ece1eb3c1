import type { FerryEvent } from '../domain/events.js';
import type { Deployment, HostDeployment } from '../domain/types.js';
import { requiredRole } from '../security/permissions.js';
import { ROLES, roleAllows } from '../security/tokens.js';

/**
 * The `DeploymentAwaitingApproval` event (and webhook): appended when a deployment stops at its
 * approval gate, so people hear about it (docs/notifications.md). Pure.
 */

/** The operator roles whose tokens may approve or reject (from the permission table, not a copy of it). */
export function approverRoles(): string[] {
  const need = requiredRole('ApproveDeployment');
  return need ? ROLES.filter(r => r !== 'agent' && roleAllows(r, need)) : [];
}

/** The event for deployment `d` now waiting at its gate for `reason`, with its hosts as they are. */
export function awaitingApprovalEvent(d: Deployment, hosts: readonly HostDeployment[], reason: string, at: string): Omit<FerryEvent, 'seq'> {
  const overview: Record<string, number> = {};
  for (const h of hosts) overview[h.status] = (overview[h.status] ?? 0) + 1;
  return {
    at, kind: 'DeploymentAwaitingApproval', application: d.application, groupId: d.groupId, groupName: d.groupName,
    deploymentId: d.id, status: d.status,
    payload: {
      creator: d.creator, revision: d.revisionDigest, description: d.description, createTime: d.createdAt, startTime: d.startedAt ?? null,
      pauseReason: reason, overview, hosts: hosts.length, succeededHosts: overview.Succeeded ?? 0,
      ...(d.approveAfter !== undefined && { approveAfter: d.approveAfter }),
      ...(d.approveAfterZones !== undefined && { approveAfterZones: d.approveAfterZones }),
      approverRoles: approverRoles(),
      approveCommand: `ferry deploy approve ${d.id}`,
      rejectCommand: `ferry deploy reject ${d.id} --reason TEXT`,
    },
  };
}
