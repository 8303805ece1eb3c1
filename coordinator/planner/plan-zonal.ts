import type { MinimumHealthy, ZonalConfig } from '../domain/types.js';
import {
  type PlanAction, type PlanTarget, type Tally, compareIds, failWith, hostList, minimumHealthyHosts, plural, stuckReason,
} from './rules.js';

/**
 * Zonal rollouts (docs/design/architecture.md §6, docs/design/codedeploy.md §5.3), part of the pure planner: one zone at a time, in
 * zone-name order with hosts without a zone last; a zone starts only once the previous one has
 * finished and its monitor time has passed since its last host completed. Within the current zone
 * the global sliding window applies, and the zone's own minimum on top. Fail rules stay global.
 */
export interface ZonalInput {
  config: ZonalConfig;
  targets: PlanTarget[];
  now: number;
}

export interface Zone {
  /** Undefined: the hosts without a zone (always last). */
  name?: string;
  targets: PlanTarget[];
}

/** Zones in rollout order: by name, hosts without a zone last as their own zone. */
export function zonesInOrder<T extends { zone?: string }>(targets: readonly T[]): { name?: string; targets: T[] }[] {
  const byName = new Map<string | undefined, T[]>();
  for (const t of targets) {
    const list = byName.get(t.zone) ?? [];
    list.push(t);
    byName.set(t.zone, list);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => (a === undefined ? 1 : b === undefined ? -1 : compareIds(a, b)))
    .map(([name, list]) => ({ ...(name !== undefined && { name }), targets: list }));
}

export function zoneLabel(name: string | undefined): string {
  return name === undefined ? 'hosts without a zone' : `zone ${name}`;
}

const ACTIVE = new Set(['Pending', 'InProgress']);

/** True when nothing in the zone is pending or in flight (lost hosts are being marked failed). */
export function zoneFinished(zone: { targets: readonly { hostId: string; status: string }[] }, lostIds: ReadonlySet<string> = new Set()): boolean {
  return zone.targets.every(t => !ACTIVE.has(t.status) || lostIds.has(t.hostId));
}

/** Called once the global rules neither failed nor finished the deployment. */
export function decideZonal(tally: Tally, min: MinimumHealthy, input: ZonalInput): PlanAction[] {
  const lostIds = new Set(tally.lost.map(t => t.hostId));
  const zones = zonesInOrder(input.targets);
  const index = zones.findIndex(z => !zoneFinished(z, lostIds));
  const zone = zones[index]!;
  const label = zoneLabel(zone.name);
  const inZone = new Set(zone.targets.map(t => t.hostId));
  const pending = tally.pending.filter(t => inZone.has(t.hostId));
  const inFlight = zone.targets.filter(t => t.status === 'InProgress').length;
  const actions: PlanAction[] = [];
  if (index > 0 && zone.targets.every(t => t.status === 'Pending')) {
    const previous = zones[index - 1]!;
    const monitorMs = index === 1 ? input.config.firstZoneMonitorMs : input.config.monitorMs;
    const lastDone = Math.max(0, ...previous.targets.map(t => t.completedAt ?? 0));
    const left = lastDone + monitorMs - input.now;
    if (left > 0) {
      return [{ type: 'wait', reason: `${zoneLabel(previous.name)} finished; monitoring it for ${seconds(left)} more (of ${seconds(monitorMs)}) before ${label} starts` }];
    }
    actions.push({
      type: 'zone-complete', zone: previous.name ?? '', zonesDone: index,
      reason: `${zoneLabel(previous.name)} finished and its monitor time of ${seconds(monitorMs)} passed: ${label} is next (${index + 1} of ${zones.length})`,
    });
  }
  const zoneTotal = zone.targets.length;
  const zoneMinimum = minimumHealthyHosts(input.config.minimumHealthyPerZone, zoneTotal);
  const zoneSucceeded = zone.targets.filter(t => t.status === 'Succeeded').length;
  const zoneHealthy = pending.length + zoneSucceeded;
  const globalHealthy = tally.pending.length + tally.succeeded;
  const canStart = Math.min(pending.length, globalHealthy - tally.minimum, zoneHealthy - zoneMinimum);
  const numbers = `${globalHealthy} healthy, ${tally.inFlight} in flight, ${tally.failed.length} failed; minimum ${tally.minimum} healthy` +
    `; ${label}: ${zoneHealthy} of ${zoneTotal} healthy, minimum ${zoneMinimum}`;
  if (canStart > 0) {
    const started = pending.slice(0, canStart);
    return [...actions, { type: 'start', hostIds: started.map(t => t.hostId), reason: `start ${hostList(started)} in ${label}: ${numbers}, so ${canStart} can leave service now` }];
  }
  if (tally.inFlight === 0) {
    return failWith(tally, stuckReason(tally, min, numbers));
  }
  if (pending.length === 0) {
    return [{ type: 'wait', reason: `${label}: ${plural(inFlight, 'host')} in flight, none pending; the next zone waits for it: ${numbers}` }];
  }
  return [{ type: 'wait', reason: `${label}: ${plural(inFlight, 'host')} in flight, 0 can start without going below a minimum: ${numbers}` }];
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)}s`;
}
