import type { Context } from './context.js';
import type { AgentState, CoordinatorMetricsSource } from './metrics.js';
import { hostState, livenessOf } from './services/liveness.js';

/** The gauges' source on a running coordinator: GROUP BY counts from the store, agent states from liveness. */
export function metricsSource(context: () => Context): CoordinatorMetricsSource {
  return {
    deploymentsByStatus: () => context().store.countDeploymentsByStatus(),
    hostDeploymentsByStatus: () => context().store.countHostDeploymentsByStatus(),
    agentsByState: () => {
      const ctx = context();
      const liveness = livenessOf(ctx);
      const now = ctx.clock.now();
      const by: Record<AgentState, number> = { connected: 0, reconnecting: 0, lost: 0 };
      for (const h of ctx.store.listHosts()) by[hostState(h.connected, h.lastSeenAt, now, liveness)] += 1;
      return by;
    },
    sendBuffers: () => context().revisions.sendBuffers(),
  };
}
