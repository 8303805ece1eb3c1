import { FerryError } from '../../common/errors.js';
import type { Context } from '../context.js';
import type { Deployment, Host, HostDeployment } from '../domain/types.js';
import { mapSeq } from '../async.js';
import { requireGroup } from './deployments.js';

/** A host named by its id, or by its hostname when exactly one host has it. */
export async function resolveHost(ctx: Context, ref: string): Promise<Host> {
  const byId = await ctx.store.getHost(ref);
  if (byId) return byId;
  const named = (await ctx.store.listHosts()).filter(h => h.hostname === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    throw new FerryError('INVALID_ARGUMENT', `hostname ${ref} is shared by hosts ${named.map(h => h.id).join(', ')}: give the host id`);
  }
  throw new FerryError('NOT_FOUND', `host ${ref} is not registered (neither a host id nor a hostname); see ferry hosts list`);
}

export interface DeploymentListInput {
  application?: string;
  group?: string;
  /** A host id or unique hostname: only the deployments that targeted it. */
  host?: string;
  limit: number;
}

export interface DeploymentList {
  deployments: Deployment[];
  /** With `host`: the host's part in each deployment, same order. */
  hostResults?: HostDeployment[];
  hostname?: string;
}

/** `ferry deploy list [--app A] [--group G] [--host H]`, newest first; with a host, its history. */
export async function listDeployments(ctx: Context, input: DeploymentListInput): Promise<DeploymentList> {
  const group = input.group && input.application ? await requireGroup(ctx, input.application, input.group) : undefined;
  const host = input.host ? await resolveHost(ctx, input.host) : undefined;
  const deployments = await ctx.store.listDeployments({
    ...(input.application && { application: input.application }), ...(group && { groupId: group.id }),
    ...(host && { hostId: host.id }), limit: input.limit,
  });
  if (!host) return { deployments };
  const hostResults = await mapSeq(deployments, async d => {
    const target = await ctx.store.getHostDeployment(d.id, host.id);
    if (!target) throw new FerryError('INTERNAL', `deployment ${d.id} was listed for host ${host.id} but has no target there`);
    return target;
  });
  return { deployments, hostResults, hostname: host.hostname };
}
