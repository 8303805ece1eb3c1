import type { DeployCommand__Output as DeployCommand } from '../../proto/gen/ferry/v1/DeployCommand.js';
import type { EventUpdate__Output as EventUpdate } from '../../proto/gen/ferry/v1/EventUpdate.js';
import type { HostResult__Output as HostResult } from '../../proto/gen/ferry/v1/HostResult.js';
import { FILE_EXISTS_BEHAVIORS, type FileExistsBehavior } from '../../common/appspec/types.js';
import { LIFECYCLE_EVENTS, type EventName, type LifecycleEvent, isLifecycleEvent } from '../../common/lifecycle/events.js';
import type { EventResult, HostDeploymentResult } from '../lifecycle/types.js';
import { isSafeId } from '../../common/parse.js';
import { ARCHIVE_TYPES, type ArchiveType, isDigest } from './revision-cache.js';

/**
 * Pure translations between the wire (proto/ferry/v1/agent.proto) and the executor's types.
 * No I/O: table-tested, and the only place that knows both shapes.
 */

/** Names the agent itself uses under the root dir: a group id may not take them. */
export const RESERVED_ROOT_NAMES: readonly string[] = [
  'deployment-instructions', 'deployment-logs', 'ongoing-deployment', 'revisions', 'agent-state', 'logs', 'host-id',
];

/** A DeployCommand checked and typed for the executor. */
export interface CheckedCommand {
  deploymentId: string;
  applicationName: string;
  groupName: string;
  groupId: string;
  digest: string;
  size: number;
  bundleType: ArchiveType;
  bundleCommit?: string;
  fileExistsBehavior: FileExistsBehavior;
  ignoreApplicationStopFailures: boolean;
  events?: LifecycleEvent[];
}

/** Every problem of a command (docs/design/style.md §8), or the checked command. */
export function checkDeployCommand(c: DeployCommand): { ok: true; command: CheckedCommand } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (!isSafeId(c.deploymentId)) problems.push(`deployment_id '${c.deploymentId}' must be letters, digits, '.', '_' or '-'`);
  if (!isSafeId(c.groupId) || RESERVED_ROOT_NAMES.includes(c.groupId)) {
    problems.push(`group_id '${c.groupId}' must be letters, digits, '.', '_' or '-', and not one of ${RESERVED_ROOT_NAMES.join(', ')}`);
  }
  if (!isDigest(c.revisionDigest)) problems.push(`revision_digest '${c.revisionDigest}' is not a lowercase hex SHA-256`);
  if (!(ARCHIVE_TYPES as readonly string[]).includes(c.bundleType)) problems.push(`bundle_type '${c.bundleType}' is not one of ${ARCHIVE_TYPES.join(', ')}`);
  const feb = c.fileExistsBehavior || 'DISALLOW';
  if (!(FILE_EXISTS_BEHAVIORS as readonly string[]).includes(feb)) {
    problems.push(`file_exists_behavior '${c.fileExistsBehavior}' is not one of ${FILE_EXISTS_BEHAVIORS.join(', ')}`);
  }
  const unknown = c.events.filter(e => !isLifecycleEvent(e));
  if (unknown.length > 0) problems.push(`events: unknown ${unknown.join(', ')} (known: ${LIFECYCLE_EVENTS.join(', ')})`);
  if (!Number.isSafeInteger(Number(c.revisionSize)) || Number(c.revisionSize) < 0) problems.push(`revision_size '${c.revisionSize}' is not a byte count`);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    command: {
      deploymentId: c.deploymentId, applicationName: c.applicationName, groupName: c.groupName, groupId: c.groupId,
      digest: c.revisionDigest, size: Number(c.revisionSize), bundleType: c.bundleType as ArchiveType,
      ...(c.bundleCommit && { bundleCommit: c.bundleCommit }),
      fileExistsBehavior: feb as FileExistsBehavior,
      ignoreApplicationStopFailures: c.ignoreApplicationStopFailures,
      ...(c.events.length > 0 && { events: c.events as LifecycleEvent[] }),
    },
  };
}

export function eventStarted(deploymentId: string, event: EventName, at: number): EventUpdate {
  return {
    deploymentId, event, status: 'InProgress', errorCode: '', exitCode: -1, message: '',
    startedAt: new Date(at).toISOString(), endedAt: '', durationMs: 0, ignored: false,
  };
}

export function eventEnded(deploymentId: string, r: EventResult): EventUpdate {
  return {
    deploymentId, event: r.event, status: r.status, errorCode: r.errorCode ?? '', exitCode: r.exitCode ?? -1,
    message: r.message ?? '', startedAt: r.startedAt ?? '', endedAt: r.endedAt ?? '', durationMs: r.durationMs ?? 0,
    ignored: r.ignored ?? false,
  };
}

export function hostResult(r: HostDeploymentResult, digest: string): HostResult {
  return {
    deploymentId: r.deploymentId, status: r.status,
    errorEvent: r.error?.event ?? '', errorCode: r.error?.code ?? '', errorMessage: r.error?.message ?? '',
    events: r.events.map(e => eventEnded(r.deploymentId, e)), revisionDigest: digest,
  };
}

/**
 * The result of a host deployment that never ran (cancelled while queued, a command the agent
 * cannot run, the host lock never obtained): Failed, every event Skipped with the reason.
 */
export function notRunResult(deploymentId: string, digest: string, code: 'UnknownError' | 'DISK_FULL', message: string): HostResult {
  return {
    deploymentId, status: 'Failed', errorEvent: '', errorCode: code, errorMessage: message, revisionDigest: digest,
    events: LIFECYCLE_EVENTS.map(event => eventEnded(deploymentId, { event, status: 'Skipped', message })),
  };
}
