import { FerryError } from '../../common/errors.js';
import type { Context } from '../context.js';
import type { HostDeploymentStatus } from '../domain/status.js';
import type { Deployment } from '../domain/types.js';
import { minimumHealthyHosts } from '../planner/rules.js';
import { filterSeq } from '../async.js';
import { createDeployment, isTerminal } from './deployments.js';

/**
 * The hosts `ferry deploy retry` goes to: every target of the ended deployment that did not
 * succeed — it failed, was skipped (offline: AGENT_OFFLINE), was lost (Unknown), or was never
 * started because the deployment ended first (Pending).
 */
export const RETRIED_HOST_STATUSES: readonly HostDeploymentStatus[] = ['Failed', 'Skipped', 'Unknown', 'Pending'];

/**
 * `ferry deploy retry ID`: a new, ordinary deployment (through createDeployment) of the same
 * revision, config and options as `id`, with explicit target hosts: those of `id` in
 * RETRIED_HOST_STATUSES that are still registered. When the config's minimum healthy cannot be met
 * on so few hosts (e.g. HOST_COUNT 2 for one host), OneAtATime: the hosts retried are not serving
 * the revision anyway.
 */
export async function retryDeployment(ctx: Context, id: string, requestedBy: string): Promise<Deployment> {
  const d = await ctx.store.getDeployment(id);
  if (!d) throw new FerryError('NOT_FOUND', `deployment ${id} does not exist; see ferry deploy list`);
  if (!isTerminal(d)) {
    throw new FerryError('FAILED_PRECONDITION', `deployment ${id} is ${d.status}: retry it once it ended (ferry deploy wait ${id}), or stop it (ferry deploy stop ${id})`);
  }
  const retried = (await ctx.store.listHostDeployments(id)).filter(h => RETRIED_HOST_STATUSES.includes(h.status));
  const hosts = (await filterSeq(retried, async h => await ctx.store.getHost(h.hostId) !== undefined)).map(h => h.hostId);
  if (hosts.length === 0) {
    throw new FerryError('FAILED_PRECONDITION', `deployment ${id} has no host to retry: every host it targeted succeeded (or is no longer registered); to deploy the whole group again: ferry deploy redeploy ${id}`);
  }
  const config = await ctx.store.getConfig(d.configName);
  const fits = config !== undefined && hosts.length > minimumHealthyHosts(config.minimumHealthy, hosts.length);
  const retry = await createDeployment(ctx, {
    application: d.application, group: d.groupName, revision: d.revisionDigest, configName: fits ? d.configName : 'OneAtATime',
    fileExistsBehavior: d.fileExistsBehavior, ignoreApplicationStopFailures: d.ignoreApplicationStopFailures,
    ...(d.autoRollback && { autoRollback: d.autoRollback }),
    ...(d.ignoreAlarms && { ignoreAlarms: true }),
    ...(d.minHealthyTimeMs && { minHealthyTimeMs: d.minHealthyTimeMs }),
    targetHostIds: hosts,
    ...(requestedBy && { createdBy: requestedBy }),
    description: `retry of ${d.id} on ${hosts.length} host${hosts.length === 1 ? '' : 's'} that did not succeed${requestedBy ? ` (by ${requestedBy})` : ''}`,
  });
  ctx.log.info('retry created', { component: 'deployments', deployment_id: retry.id, retry_of: d.id, hosts: hosts.length, config: retry.configName });
  return retry;
}
