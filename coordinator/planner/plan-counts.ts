import type { HostDeploymentCounts } from '../domain/status.js';
import type { MinimumHealthy } from '../domain/types.js';
import type { PlanGates } from './gates.js';
import { pauseHold } from './plan.js';
import { type PlanAction, healthNumbers, minimumHealthyHosts, waitNonePending } from './rules.js';

/**
 * The planner's decision from a deployment's host counts alone (Store.hostDeploymentCounts), when it
 * is provably `plan()`'s: no host rows read. Pure, like plan.ts. It decides two cases, where a
 * rollout spends most of its passes: paused (by an operator, at the approval gate, or for a window
 * still closed), and running with no host pending, some in flight, enough of them and the
 * succeeded ones to stay at the minimum (an AllAtOnce of 10,000 hosts, the second half of a
 * HalfAtATime); the plan is then to wait. Everything else (`undefined`) is `plan()`'s, from the rows.
 *
 * Why it is `plan()`'s decision, step by step (test/unit/planner-counts.test.ts checks it on random
 * snapshots):
 * - no alarm firing (alarmStop needs the rows otherwise);
 * - a pause that holds is plan()'s next step whatever the targets (pauseHold); a window pause whose
 *   window is open resumes and plans the rollout: left to plan();
 * - bake time only turns Succeeded hosts into in-flight ones: none succeeded, nothing changes;
 * - with no host Pending there is no lost host (lost = Pending and not connected): connectivity,
 *   `--require-all-hosts` and dispatch order do not matter, and not every host is Pending;
 * - succeeded + in flight ≥ max(minimum, 1): the minimum stays reachable, so no failure; with hosts
 *   in flight no verdict; non-zonal: no zone to finish; nothing pending: nothing to start, so
 *   `wait` with the numbers plan() states;
 * - a wait starts nothing and is no verdict: the approval gate and the window hold nothing (gates.ts holdFor).
 */
export interface CountsSnapshot {
  deploymentId: string;
  minimumHealthy: MinimumHealthy;
  zonal: boolean;
  counts: HostDeploymentCounts;
  gates?: PlanGates;
}

export function planFromCounts(s: CountsSnapshot): PlanAction[] | undefined {
  const gates = s.gates ?? {};
  const { Pending, InProgress, Succeeded, Failed, Skipped, Unknown } = s.counts;
  if ((gates.alarms ?? []).length > 0) return undefined;
  const held = pauseHold(gates, s.deploymentId);
  if (held) return [held];
  if (s.zonal || gates.paused !== undefined) return undefined;
  if (gates.bakeMs !== undefined && gates.bakeMs > 0 && Succeeded > 0) return undefined;
  if (Pending > 0 || InProgress === 0) return undefined;
  const total = Pending + InProgress + Succeeded + Failed + Skipped + Unknown;
  const minimum = minimumHealthyHosts(s.minimumHealthy, total);
  if (Succeeded + InProgress < Math.max(minimum, 1)) return undefined;
  return [waitNonePending(InProgress, healthNumbers(Succeeded, 0, Succeeded, InProgress, Failed + Skipped + Unknown, minimum))];
}
