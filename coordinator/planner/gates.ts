import type { PauseKind } from '../domain/types.js';
import { waitingForWindow } from '../domain/windows.js';
import type { GateAction, PlanAction, PlanTarget } from './rules.js';

/**
 * The gates of a rollout, as inputs of the pure planner (docs/design/architecture.md §6.1): the
 * scheduler loads their states (the deployment's flags, the group's windows and alarms, the hosts'
 * reported alarm states) and `plan()` decides. Pure: no store, no clock; `now` comes with the plan.
 *
 * Priorities, first wins: an alarm in ALARM stops the deployment (whatever else holds it); a
 * pause that is not the window's waits for a person; the approval gate pauses before the window
 * holds; a closed window holds new starts. Bake time only counts a fresh success as in flight.
 */
export interface PlanGates {
  /** `--min-healthy-time` in ms: a host that succeeded less than this ago still counts as in flight. */
  bakeMs?: number;
  /** `--approve-after N` / `--approve-after first-zone` and whether someone approved. Absent: no gate. */
  approval?: { afterHosts?: number; afterZones?: number; approved: boolean };
  /** The group's deployment windows. Absent when none applies (none set, `--ignore-window`, rollbacks, catch-ups). */
  window?: { open: boolean; opensAt?: number };
  /**
   * Alarms of the group in ALARM, per host, as the agents report them (empty with `--ignore-alarms`).
   * Only those on a host this deployment touched (not Pending, not Skipped) stop it.
   */
  alarms?: FiringAlarm[];
  /** Set when the deployment is Paused: how (domain/pause.ts). */
  paused?: PauseKind;
}

export interface FiringAlarm {
  hostId: string;
  /** How the host is named in the reason (hostname and id). */
  hostLabel: string;
  name: string;
  reason: string;
}

/** The stop an alarm forces: the first alarm (in target order) in ALARM on a host the deployment touched. */
export function alarmStop(gates: PlanGates, targets: readonly PlanTarget[]): GateAction | undefined {
  const touched = new Set(targets.filter(t => t.status !== 'Pending' && t.status !== 'Skipped').map(t => t.hostId));
  const order = new Map(targets.map((t, i) => [t.hostId, i]));
  const firing = (gates.alarms ?? [])
    .filter(a => touched.has(a.hostId))
    .sort((a, b) => order.get(a.hostId)! - order.get(b.hostId)!)[0];
  if (!firing) return undefined;
  return {
    type: 'stop', errorCode: 'DEPLOYMENT_STOP_ON_ALARM', trigger: 'alarm',
    reason: `alarm ${firing.name} is in ALARM on host ${firing.hostLabel}: ${firing.reason}`,
  };
}

/** Baking: a host that succeeded less than `bakeMs` before `now` counts as in flight. */
export function withBake(targets: PlanTarget[], bakeMs: number | undefined, now: number): PlanTarget[] {
  if (!bakeMs || bakeMs <= 0) return targets;
  return targets.map(t => (t.status === 'Succeeded' && t.completedAt !== undefined && t.completedAt + bakeMs > now ? { ...t, status: 'InProgress' as const } : t));
}

export function windowHoldReason(opensAt: number | undefined): string {
  return `outside window: no new host starts (hosts in flight finish); ${waitingForWindow(opensAt)}, then it resumes by itself`;
}

/**
 * The approval gate or the window turning a plan into a pause. `actions` is the plan of the rollout
 * rules; `succeeded` the hosts that really succeeded (baking or not).
 */
export function holdFor(
  gates: PlanGates, deploymentId: string, actions: PlanAction[], total: number, succeeded: number,
): GateAction | undefined {
  const starts = actions.some(a => a.type === 'start');
  const approval = gates.approval;
  if (approval && !approval.approved) {
    const next = `continue with ferry deploy approve ${deploymentId}, or ferry deploy reject ${deploymentId}`;
    if (starts && approval.afterHosts !== undefined && succeeded >= approval.afterHosts) {
      return { type: 'pause', kind: 'approval', reason: `awaiting approval: ${succeeded} host(s) succeeded (--approve-after ${approval.afterHosts}); ${next}` };
    }
    // --approve-after N on N or fewer hosts (or with hosts skipped): the gate is before the verdict.
    if (approval.afterHosts !== undefined && actions.some(a => a.type === 'succeed')) {
      return {
        type: 'pause', kind: 'approval',
        reason: `awaiting approval: every host finished, ${succeeded} of ${total} succeeded (--approve-after ${approval.afterHosts}: the gate comes before the verdict); ${next}`,
      };
    }
    const zone = actions.find(a => a.type === 'zone-complete');
    if (zone && approval.afterZones !== undefined && zone.zonesDone >= approval.afterZones) {
      return { type: 'pause', kind: 'approval', reason: `awaiting approval: ${zone.reason} (--approve-after first-zone); ${next}` };
    }
  }
  if (starts && gates.window && !gates.window.open) {
    return { type: 'pause', kind: 'window', reason: windowHoldReason(gates.window.opensAt) };
  }
  return undefined;
}
