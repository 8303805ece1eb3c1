import { writeFileAtomic, pathExists } from '../state/files.js';
import type { Layout } from '../state/layout.js';
import { type CrashMarker, clearMarker, readMarkers } from '../state/markers.js';
import { LIFECYCLE_EVENTS } from '../../common/lifecycle/events.js';
import type { HostDeploymentResult } from './types.js';

export interface InterruptedDeployment {
  marker: CrashMarker;
  result: HostDeploymentResult;
}

/**
 * Finds host deployments that were running when the agent died (their crash markers are still
 * there) and records them as failed with FailedAfterRestart on the event that was running.
 * Call only while holding the host lock: then every marker's owner is gone.
 */
export async function recoverInterrupted(layout: Layout, now: number): Promise<InterruptedDeployment[]> {
  const recovered: InterruptedDeployment[] = [];
  for (const marker of await readMarkers(layout)) {
    const ended = new Date(now).toISOString();
    const message = `the agent stopped (pid ${marker.pid || 'unknown'}) while ${marker.event} was running` +
      (marker.eventStartedAt ? ` (started ${marker.eventStartedAt})` : '') + '; its outcome is unknown';
    const finished = new Map((marker.finished ?? []).map(r => [r.event, r]));
    const result: HostDeploymentResult = {
      deploymentId: marker.deploymentId,
      applicationName: marker.applicationName,
      groupName: marker.groupName,
      groupId: marker.groupId,
      status: 'Failed',
      error: { event: marker.event, code: 'FailedAfterRestart', message },
      events: (marker.events ?? LIFECYCLE_EVENTS).map(event =>
        event === marker.event
          ? { event, status: 'Failed' as const, errorCode: 'FailedAfterRestart' as const, message, endedAt: ended }
          : finished.get(event) ?? { event, status: 'Skipped' as const, message: `because ${marker.event} failed` },
      ),
      warnings: [],
      deploymentDir: marker.groupId ? layout.deploymentDir(marker.groupId, marker.deploymentId) : '',
      scriptsLog: marker.groupId ? layout.scriptsLog(marker.groupId, marker.deploymentId) : '',
      startedAt: marker.eventStartedAt,
      endedAt: ended,
    };
    if (marker.groupId && (await pathExists(layout.deploymentDir(marker.groupId, marker.deploymentId)))) {
      await writeFileAtomic(layout.resultFile(marker.groupId, marker.deploymentId), JSON.stringify(result, null, 2) + '\n');
    }
    await clearMarker(layout, marker.deploymentId);
    recovered.push({ marker, result });
  }
  return recovered;
}
