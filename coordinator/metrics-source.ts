import type { Context } from './context.js';
import type { AgentState, CoordinatorMetricsSource } from './metrics.js';
import { hostStateOf } from './services/liveness.js';

/** The gauges' source on a running coordinator: GROUP BY counts from the store, agent states from liveness. */
export function metricsSource(context: () => Context): CoordinatorMetricsSource {
  return {
    deploymentsByStatus: () => context().store.countDeploymentsByStatus(),
    hostDeploymentsByStatus: () => context().store.countHostDeploymentsByStatus(),
    agentsByState: async () => {
      const ctx = context();
      const by: Record<AgentState, number> = { connected: 0, reconnecting: 0, lost: 0 };
      for (const h of await ctx.store.listHostPresence()) by[hostStateOf(ctx, h)] += 1;
      return by;
    },
    sendBuffers: () => context().revisions.sendBuffers(),
  };
}
