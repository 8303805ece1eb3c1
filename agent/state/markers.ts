import { promises as fs } from 'node:fs';
import type { EventName } from '../../common/lifecycle/events.js';
import type { EventResult } from '../lifecycle/types.js';
import type { Layout } from './layout.js';
import { writeFileAtomic } from './files.js';

/**
 * Crash markers: written before each lifecycle event, removed when the host deployment ends.
 * A marker found at start-up (while we hold the host lock) means its owner died mid-event:
 * that event is reported FailedAfterRestart instead of pretending nothing happened.
 */
export interface CrashMarker {
  deploymentId: string;
  groupId: string;
  groupName: string;
  applicationName: string;
  event: EventName;
  pid: number;
  eventStartedAt: string;
  /** Events already finished when this one started. */
  finished?: EventResult[];
  /** The run's events in the order they run, custom events included (lifecycle events when absent). */
  events?: EventName[];
}

export async function writeMarker(layout: Layout, marker: CrashMarker): Promise<void> {
  await writeFileAtomic(layout.crashMarker(marker.deploymentId), JSON.stringify(marker) + '\n');
}

export async function clearMarker(layout: Layout, deploymentId: string): Promise<void> {
  await fs.rm(layout.crashMarker(deploymentId), { force: true });
}

export async function readMarkers(layout: Layout): Promise<CrashMarker[]> {
  let names: string[];
  try {
    names = await fs.readdir(layout.ongoingDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const markers: CrashMarker[] = [];
  for (const name of names.sort()) {
    if (name.includes('.tmp-')) continue;
    try {
      markers.push(JSON.parse(await fs.readFile(layout.crashMarker(name), 'utf8')) as CrashMarker);
    } catch {
      // A marker we cannot read still names the deployment; report it with what we know.
      markers.push({
        deploymentId: name,
        groupId: '',
        groupName: '',
        applicationName: '',
        event: 'DownloadBundle',
        pid: 0,
        eventStartedAt: '',
      });
    }
  }
  return markers;
}
