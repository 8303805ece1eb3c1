import type { DeploymentConfig } from '../domain/types.js';
import { orderTargets, plan } from '../planner/plan.js';
import { type PlanTarget, type RevisionHealth } from '../planner/rules.js';
import type { Wave } from './types.js';

export interface WaveHost {
  hostId: string;
  zone?: string;
  revisionHealth: RevisionHealth;
}

export interface WaveResult {
  /** Hosts in dispatch order (the scheduler's `orderTargets`). */
  order: string[];
  waves: Wave[];
  /** Set when the rollout would fail even with every host succeeding (e.g. a minimum no host can satisfy). */
  failure?: string;
  /** The planner's reasons, in order, for the curious (`--json`). */
  reasons: string[];
}

/**
 * The waves a deployment would go in, from the real planner (`planner/plan.ts`): every host is
 * assumed to succeed as soon as it starts, so each `start` action is one wave. Zonal configs give
 * one zone after another (monitor times are skipped over, not waited).
 */
export function simulateWaves(hosts: readonly WaveHost[], config: Pick<DeploymentConfig, 'minimumHealthy' | 'zonal'>): WaveResult {
  const ordered = orderTargets(hosts.map(h => target(h)));
  const targets: PlanTarget[] = ordered.map((t, position) => ({ ...t, position }));
  const waves: Wave[] = [];
  const reasons: string[] = [];
  let now = 0;
  const step = Math.max(config.zonal?.monitorMs ?? 0, config.zonal?.firstZoneMonitorMs ?? 0) + 1;
  for (let round = 0; round < targets.length * 2 + 4; round++) {
    const actions = plan({ deploymentId: 'plan', minimumHealthy: config.minimumHealthy, ...(config.zonal && { zonal: config.zonal }), targets }, now);
    reasons.push(...actions.map(a => a.reason));
    const fail = actions.find(a => a.type === 'fail');
    if (fail) return { order: targets.map(t => t.hostId), waves, failure: fail.reason, reasons };
    if (actions.some(a => a.type === 'succeed')) break;
    const start = actions.find(a => a.type === 'start');
    if (start && start.type === 'start') {
      const zone = targets.find(t => t.hostId === start.hostIds[0])?.zone;
      waves.push({ index: waves.length + 1, ...(config.zonal && zone !== undefined && { zone }), hostIds: start.hostIds });
      for (const t of targets) {
        if (start.hostIds.includes(t.hostId)) Object.assign(t, { status: 'Succeeded', completedAt: now });
      }
    }
    now += step;
  }
  return { order: targets.map(t => t.hostId), waves, reasons };
}

function target(h: WaveHost): PlanTarget {
  return { hostId: h.hostId, status: 'Pending', connected: true, revisionHealth: h.revisionHealth, position: 0, ...(h.zone !== undefined && { zone: h.zone }) };
}
