import type { Context } from '../context.js';

/**
 * Runs `fn` holding the lock of the deployment's group (ctx.groups): a stop, pause, approval or an
 * agent's result then reads and writes the group's deployments with no scheduler pass of that group
 * interleaved between its awaited store calls (and the other way round). An unknown deployment runs
 * `fn` unlocked: it reports NOT_FOUND itself.
 */
export async function inGroupOf<T>(ctx: Context, deploymentId: string, fn: () => Promise<T>): Promise<T> {
  const d = await ctx.store.getDeployment(deploymentId);
  return d === undefined ? fn() : ctx.groups.run(d.groupId, fn);
}
