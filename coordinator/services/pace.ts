import type { Context } from '../context.js';

/**
 * The fleet has `hosts` hosts (registered since the start, or listed): when that stretches the
 * heartbeat pace (agents/pace.ts), every agent connected here is told the new interval at once (a Pace message);
 * the timeout it is judged by is already the new one.
 */
export function observeFleet(ctx: Context, hosts: number): void {
  if (!ctx.pace.observe(hosts)) return;
  const local = ctx.registry.localHostIds();
  ctx.log.info('heartbeat pace stretched for the fleet', {
    component: 'agents', hosts, heartbeats_per_s: Math.round(hosts * 1000 / ctx.pace.intervalMs),
    heartbeat_interval_ms: ctx.pace.intervalMs, agent_timeout_ms: ctx.pace.timeoutMs, agents_told: local.length,
  });
  for (const hostId of local) ctx.registry.local(hostId)?.send({ pace: { heartbeatIntervalMs: ctx.pace.intervalMs } });
}
